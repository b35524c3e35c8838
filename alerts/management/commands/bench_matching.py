"""Measure the rule index against the roadmap's query-per-rule design; prints one JSON object.

Rules (and their users) are generated deterministically, stored with bulk_create, and the
index is built by the real `alerts.services.build_index()` from the database. Listings are
generated in memory as `ListingFacts` from the demo catalog plus a Zipf-distributed
vocabulary of product words per category; the rules draw their keywords from the same
vocabulary. Rules come in three tiers (broad, specific, niche); the mix is solved from a
calibration run so that a listing matches about `--matches-per-listing` rules on average.
"""

import gc
import itertools
import json
import math
import random
import resource
import statistics
import time
import uuid
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.geo import all_zips, lookup_zip
from accounts.models import User
from alerts.matching import ListingFacts, RuleIndex, RuleSpec, match
from alerts.models import DealAlertMatch, DealAlertRule
from alerts.services import (
    LISTING_FACT_FIELDS,
    build_index,
    category_descendants,
    narrow,
    rule_spec,
)
from listings.demo import CATALOG, DEMO_ZIPS, make_listing
from listings.models import Category, Listing
from listings.taxonomy import CATEGORY_TREE
from listings.text import key_words, listing_words

PREFIX = "bench-match"
# Generated listings are folded from their text, as ingestion folds it into search_words.
FACT_FIELDS = ("title", "description", *(f for f in LISTING_FACT_FIELDS if f not in ("id", "search_words")))
RULE_FIELDS = [f.name for f in DealAlertRule._meta.concrete_fields if f.name != "user"]
TIERS = ("broad", "specific", "niche")
GENERATED_WORDS = 400  # product words per category: model names, variants, features
PHRASES = 80  # two-word product lines per category
CALIBRATION_RULES = 6000  # per tier
CALIBRATION_LISTINGS = 2000
BATCH = 1000  # listings per match batch, as the live matcher's sweep takes them
PASSES = 3
CREATE_BATCH = 2000
GENERIC = "black white silver blue red vintage mini max plus ultra bundle kit original premium compact portable".split()
FLAWS = ["for parts", "cracked screen", "not working", "water damage", "missing charger", "broken", "needs repair"]
EXCLUDES = ["for parts", "cracked", "broken", "not working", "parts", "damage", "replica", "as is", "repair"]
CONDITIONS = ["new", "excellent", "good", "fair", "poor"]
RADII = [5, 10, 15, 25, 50, 100]
RARE_FROM = 150  # niche rules' product words: ranks 150 and beyond
TIER_ODDS = {  # how often a tier's rule has no keywords, a condition, a radius, a minimum deal score
    "broad": {"keywordless": 0.10, "condition": 0.08, "location": 0.20, "score": 0.10},
    "specific": {"keywordless": 0.08, "condition": 0.20, "location": 0.40, "score": 0.30},
    "niche": {"keywordless": 0.05, "condition": 0.30, "location": 0.55, "score": 0.40},
}


def _zipf_weights(n: int, s: float) -> list[float]:
    """Cumulative Zipf weights for ranks 1..n (for `random.choices(cum_weights=...)`)."""
    return list(itertools.accumulate(1 / rank**s for rank in range(1, n + 1)))


@dataclass
class CategoryVocabulary:
    catalog: list[str]  # words of the demo catalog's titles, most frequent first (brands, models)
    catalog_cum: list[float]
    pairs: list[str]  # adjacent word pairs of the catalog's titles ("macbook air")
    generated: list[str]  # product words, Zipf-ranked
    generated_cum: list[float]
    phrases: list[str]  # two generated words, Zipf-ranked
    phrases_cum: list[float]
    low: int  # cheapest typical price in the category
    high: int  # dearest


class World:
    """The deterministic vocabulary, categories and places rules and listings are drawn from."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}-vocabulary")
        self.leaves = list(CATALOG)
        children: dict[str, list[str]] = {}
        parent_of = {slug: parent for slug, _, parent in CATEGORY_TREE}
        for slug in self.leaves:
            if parent_of.get(slug):
                children.setdefault(parent_of[slug], []).append(slug)
        self.parents = {parent: leaves for parent, leaves in children.items() if len(leaves) > 1}
        self.parent_names = sorted(self.parents)
        taken: set[str] = set(GENERIC)
        self.vocab: dict[str, CategoryVocabulary] = {}
        for slug in self.leaves:
            counts = Counter(word for title, _ in CATALOG[slug] for word in dict.fromkeys(key_words(title)))
            catalog = [word for word, _ in counts.most_common()]
            taken.update(catalog)
            pairs = sorted(
                {" ".join(pair) for title, _ in CATALOG[slug] for pair in itertools.pairwise(key_words(title))}
            )
            generated = []
            while len(generated) < GENERATED_WORDS:
                word = self._pseudo_word(rng)
                if word not in taken:
                    taken.add(word)
                    generated.append(word)
            phrase_cum = _zipf_weights(PHRASES, 1.0)
            phrases = [f"{rng.choice(generated[:60])} {rng.choice(generated[:200])}" for _ in range(PHRASES)]
            prices = [typical for _, typical in CATALOG[slug]]
            self.vocab[slug] = CategoryVocabulary(
                catalog=catalog,
                catalog_cum=_zipf_weights(len(catalog), 0.8),
                pairs=pairs,
                generated=generated,
                generated_cum=_zipf_weights(len(generated), 1.05),
                phrases=phrases,
                phrases_cum=phrase_cum,
                low=min(prices),
                high=max(prices),
            )
        self.brands = sorted({v.catalog[0] for v in self.vocab.values()} | {"samsung", "sony", "apple", "ikea"})
        self.generic_cum = _zipf_weights(len(GENERIC), 1.0)
        self.far_zips = [place.zip_code for place in all_zips()[::97]]

    @staticmethod
    def _pseudo_word(rng: random.Random) -> str:
        word = "".join(rng.choice("bdfgklmnprtvz") + rng.choice("aeiou") for _ in range(rng.choice((2, 2, 3))))
        if rng.random() < 0.25:
            word += str(rng.choice((1, 2, 3, 5, 7, 9)) * 10 ** rng.randint(1, 3))
        return word

    # --- listings ---------------------------------------------------------------------------------

    def listing(self, rng: random.Random, serial: int, run: str, category_ids: dict[str, int]) -> dict:
        """One listing as model fields: a demo listing with product words, sometimes a flaw."""
        raw = make_listing(rng, serial, prefix=f"{PREFIX}-{run}").raw
        vocab = self.vocab[raw["category"]]
        details = rng.choices(vocab.generated, cum_weights=vocab.generated_cum, k=rng.randint(2, 6))
        title = raw["title"]
        if rng.random() < 0.35:
            title += " " + rng.choices(vocab.phrases, cum_weights=vocab.phrases_cum)[0]
        title += " " + " ".join(details[:2])
        description = " ".join(
            [raw["description"], *details[2:], *rng.choices(GENERIC, cum_weights=self.generic_cum, k=rng.randint(0, 2))]
        )
        if rng.random() < 0.06:
            description += f" {rng.choice(FLAWS).capitalize()}."
        place = lookup_zip(raw["zip_code"])
        return {
            "source": raw["source"],
            "external_id": raw["external_id"],
            "url": raw["url"],
            "title": title[:200],
            "description": description,
            "price": Decimal(raw["price"]),
            "category_id": category_ids[raw["category"]],
            "condition": raw["condition"] or "",
            "zip_code": raw["zip_code"],
            "latitude": place.latitude if place else None,
            "longitude": place.longitude if place else None,
            "deal_score": round(rng.betavariate(2, 3), 3) if rng.random() < 0.85 else None,
            "is_active": rng.random() >= 0.01,
        }

    # --- rules ------------------------------------------------------------------------------------

    def rule(self, rng: random.Random, tier: str) -> dict:
        """One rule's fields; `tier` sets how demanding its criteria are."""
        odds = TIER_ODDS[tier]
        broad, niche = tier == "broad", tier == "niche"
        leaf = rng.choice(self.leaves)
        vocab = self.vocab[leaf]
        keywordless = rng.random() < odds["keywordless"]
        where = rng.random()
        if keywordless or where < 0.65:
            categories = [leaf]
        elif where < 0.77:
            parent = rng.choice(self.parent_names)
            categories = [parent]
            leaf = rng.choice(self.parents[parent])
            vocab = self.vocab[leaf]
        elif where < 0.82:
            categories = sorted({leaf, rng.choice(self.leaves)})
        else:
            categories = []
        leaves = [leaf] if not categories else [c for slug in categories for c in self.parents.get(slug, [slug])]
        low, high = min(self.vocab[s].low for s in leaves), max(self.vocab[s].high for s in leaves)

        keywords: list[str] = []
        if not keywordless:
            for _ in range(rng.choices((1, 2, 3), weights=(60, 30, 10))[0]):
                keywords.append(self._keyword(rng, tier, vocab, has_category=bool(categories)))
            keywords = list(dict.fromkeys(keywords))
        excludes = rng.sample(EXCLUDES, rng.choice((1, 1, 2))) if rng.random() < 0.2 else []

        min_price = max_price = None
        roll = rng.random()
        if broad:
            if keywordless or roll < 0.4:
                max_price = high * rng.uniform(0.7, 1.5)
            elif roll < 0.6:
                min_price, max_price = low * rng.uniform(0.3, 0.8), high * rng.uniform(0.8, 1.5)
        elif keywordless or roll < 0.75:
            max_price = (low if niche or keywordless else rng.uniform(low, high)) * rng.uniform(
                0.3 if niche else 0.4, 1.0
            )
            if rng.random() < 0.3:
                min_price = max_price * rng.uniform(0.3, 0.7)
        condition = rng.choice(CONDITIONS) if rng.random() < odds["condition"] else ""
        location, radius = "", None
        if rng.random() < odds["location"] or (keywordless and not broad):
            radius = rng.choice(RADII[:3] if niche or keywordless else RADII)
            if rng.random() < 0.9:  # else measured from the user's home ZIP
                location = rng.choice(DEMO_ZIPS) if rng.random() < 0.7 else rng.choice(self.far_zips)
        min_deal_score = None
        if rng.random() < odds["score"] or (keywordless and niche):
            min_deal_score = round(rng.uniform(0.2, 0.6) if broad else rng.uniform(0.5, 0.9), 2)
        label = keywords[0] if keywords else categories[0]
        return {
            "name": f"{label} alert"[:100],
            "keywords": keywords,
            "exclude_keywords": excludes,
            "categories": categories,
            "condition": condition,
            "min_price": None if min_price is None else Decimal(round(min_price)),
            "max_price": None if max_price is None else Decimal(round(max_price)),
            "location": location,
            "radius_mi": radius,
            "min_deal_score": min_deal_score,
            "enabled": rng.random() < 0.95,
        }

    def _keyword(self, rng: random.Random, tier: str, vocab: CategoryVocabulary, *, has_category: bool) -> str:
        """Broad: catalog words (brands, models); specific: product words; niche: rare ones, odd phrases."""
        multi = rng.random() < 0.15
        if tier == "broad":
            if not has_category and rng.random() < 0.5:
                return rng.choice(self.brands) if rng.random() < 0.8 else rng.choice(GENERIC)
            if multi and vocab.pairs:
                return rng.choice(vocab.pairs)
            return rng.choices(vocab.catalog, cum_weights=vocab.catalog_cum)[0]
        if multi:
            line = rng.choices(vocab.phrases, cum_weights=vocab.phrases_cum)[0]
            if tier == "niche":  # the words reversed, or a product word after a brand: rarely adjacent
                first, second = line.split()
                return f"{second} {first}" if rng.random() < 0.5 else f"{rng.choice(vocab.catalog)} {second}"
            return line
        if tier == "specific":
            word = rng.choices(vocab.generated, cum_weights=vocab.generated_cum)[0]
        else:
            word = rng.choice(vocab.generated[RARE_FROM:])
        return word.title() if rng.random() < 0.2 else word  # case folds


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return _peak_rss_mb()


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Command(BaseCommand):
    help = "Measure rule matching: the in-memory index against one query per rule per listing; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--rules", type=int, default=100000)
        parser.add_argument("--listings", type=int, default=10000)
        parser.add_argument("--matches-per-listing", type=float, default=10.0, help="Target average matches.")
        parser.add_argument("--users", type=int, default=0, help="Default: one per 10 rules (a user may have 50).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--naive-rules", type=int, default=300, help="Rules sampled for the per-rule queries.")
        parser.add_argument("--naive-listings", type=int, default=3, help="Listings stored for the per-rule queries.")
        parser.add_argument("--check-listings", type=int, default=0, help="Brute-forced listings; default: auto.")
        parser.add_argument("--keep", action="store_true", help="Keep the generated rules and users afterwards.")

    def handle(self, **options):
        rules, listings = options["rules"], options["listings"]
        if rules < 1 or listings < 1:
            raise CommandError("--rules and --listings must be at least 1.")
        seed, run = options["seed"], uuid.uuid4().hex[:8]
        users = options["users"] or max(1, math.ceil(rules / 10))
        check = min(listings, options["check_listings"] or max(20, 20_000_000 // rules))

        lookup_zip("94103")  # load the ZIP table (~1 s, once per process) outside the timings
        other_rules = DealAlertRule.objects.count()  # already stored: the index and the checks see them too
        world = World(seed)
        category_ids = dict(Category.objects.values_list("slug", "id"))
        sample = list(self._listings(world, min(listings, CALIBRATION_LISTINGS), seed, run, category_ids))
        mix, rates = self._calibrate(world, [facts for facts, _ in sample], rules, options["matches_per_listing"], seed)
        naive_rows = [row for _, row in sample[: max(1, options["naive_listings"])]]
        del sample
        check_ids = frozenset(random.Random(f"{seed}-check").sample(range(1, listings + 1), check))
        try:
            self._create(world, run, rules, users, mix, seed)
            enabled = DealAlertRule.objects.filter(enabled=True).count()
            gc.collect()
            rss_before = _rss_mb()
            started = time.perf_counter()
            index = build_index()
            build_s = time.perf_counter() - started
            gc.collect()
            rss = _rss_mb()

            # The listings are input, made after the memory reading, and matched in batches as the
            # live matcher takes them. Passes vary on a shared machine: the median of PASSES is reported.
            facts = [facts for facts, _ in self._listings(world, listings, seed, run, category_ids)]
            passes, matches, checked = [], 0, []
            for attempt in range(PASSES):
                elapsed = 0.0
                for start in range(0, listings, BATCH):
                    batch = facts[start : start + BATCH]
                    started = time.perf_counter()
                    found = [index.match(one) for one in batch]
                    elapsed += time.perf_counter() - started
                    if attempt == 0:
                        matches += sum(len(m) for m in found)
                        checked += [(one, m) for one, m in zip(batch, found, strict=True) if one.id in check_ids]
                passes.append(listings / elapsed)
            del found
            # Full collections walk every object; a worker that freezes the built index (gc.freeze())
            # spares it them: measured once more so.
            gc.freeze()
            started = time.perf_counter()
            for start in range(0, listings, BATCH):
                found = [index.match(one) for one in facts[start : start + BATCH]]
            frozen_rate = listings / (time.perf_counter() - started)
            gc.unfreeze()
            listings_per_s = statistics.median(passes)
            indexed = len(index)
            del index, facts, found

            equal, pairs = self._equal(checked)
            naive = self._naive(naive_rows, run, seed, options["naive_rules"])
        finally:
            if not options["keep"]:
                self._clean(run)
        naive_listings_per_s = 1 / (naive["seconds"] * enabled) if enabled and naive["seconds"] else None
        expected = rules * sum(share * rate for share, rate in zip(mix, rates, strict=True))
        report = {
            "rules": rules,
            "other_rules": other_rules,
            "enabled_rules": enabled,
            "indexed_rules": indexed,
            "users": users,
            "listings": listings,
            "matches": matches,
            "matches_per_listing": round(matches / listings, 2),
            "matches_per_listing_target": options["matches_per_listing"],
            "matches_per_listing_expected": round(expected, 2),
            "rule_mix": {tier: round(share, 4) for tier, share in zip(TIERS, mix, strict=True)},
            "tier_match_rates": {tier: float(f"{rate:.3g}") for tier, rate in zip(TIERS, rates, strict=True)},
            "listings_per_s": round(listings_per_s),
            "listings_per_s_passes": [round(rate) for rate in passes],
            "listings_per_s_gc_frozen": round(frozen_rate),
            "match_batch": BATCH,
            "naive_listings_per_s": None if naive_listings_per_s is None else float(f"{naive_listings_per_s:.3g}"),
            "naive_ms_per_query": round(naive["seconds"] * 1000, 3),
            "naive_sampled_rules": naive["rules"],
            "naive_sampled_listings": naive["listings"],
            "naive_queries_timed": naive["queries"],
            "naive_extrapolated_to_rules": enabled,
            "naive_query": "Listing.objects.filter(id=..., <the rule's criteria>).exists(), one per enabled rule; "
            "keywords as title/description icontains, radius as a bounding box",
            "speedup": round(listings_per_s / naive_listings_per_s) if naive_listings_per_s else None,
            "equal": equal,
            "equal_checked_listings": len(checked),
            "equal_checked_pairs": pairs,
            "index_build_s": round(build_s, 2),
            "rss_mb": rss,
            "rss_before_index_mb": rss_before,
            "rss_peak_mb": _peak_rss_mb(),
            "seed": seed,
            "database": connection.vendor,
        }
        self.stdout.write(json.dumps(report))

    # --- the rule mix -------------------------------------------------------------------------------

    def _calibrate(
        self, world: World, sample: list[ListingFacts], rules: int, target: float, seed: int
    ) -> tuple[list[float], list[float]]:
        """The shares of broad, specific and niche rules that give `target` matches per listing; their rates.

        Each tier's match rate per (rule, listing) is measured on generated rules (not stored)
        and a sample of the listings; the mix interpolates between the two tiers around the target.
        """
        slug_ids = dict(Category.objects.values_list("slug", "id"))
        descendants = category_descendants()
        rates, count = [], min(CALIBRATION_RULES, max(1000, rules))
        for tier in TIERS:
            rng = random.Random(f"{seed}-calibrate-{tier}")
            specs = [
                rule_spec(
                    DealAlertRule(id=i, user_id=0, **world.rule(rng, tier)),
                    home_zip=rng.choice(DEMO_ZIPS),
                    slug_ids=slug_ids,
                    descendants=descendants,
                )
                for i in range(count)
            ]
            index = RuleIndex(specs)
            found = sum(len(index.match(f)) for f in sample)
            rates.append(found / (count * len(sample)))
        per_rule = target / rules
        mix = [0.0, 0.0, 0.0]
        if per_rule >= rates[0]:
            mix[0] = 1.0
        elif per_rule <= rates[2]:
            mix[2] = 1.0
        else:
            upper = 0 if per_rule >= rates[1] else 1
            hi, lo = rates[upper], rates[upper + 1]
            share = (per_rule - lo) / (hi - lo) if hi > lo else 1.0
            mix[upper], mix[upper + 1] = share, 1 - share
        del specs, index
        gc.collect()
        return mix, rates

    # --- the database ---------------------------------------------------------------------------------

    def _create(self, world: World, run: str, rules: int, users: int, mix: list[float], seed: int) -> None:
        """Users, then rules spread over them, with bulk_create."""
        rng = random.Random(f"{seed}-users")
        for start in range(0, users, CREATE_BATCH):
            User.objects.bulk_create(
                User(
                    email=f"{PREFIX}-{run}-{i}@dealalerts.local",
                    password="!",
                    email_confirmed_at=timezone.now(),
                    home_zip="" if rng.random() < 0.02 else rng.choice(DEMO_ZIPS),
                )
                for i in range(start, min(users, start + CREATE_BATCH))
            )
        user_ids = list(
            User.objects.filter(email__startswith=f"{PREFIX}-{run}-").order_by("id").values_list("id", flat=True)
        )
        rng = random.Random(f"{seed}-rules")
        cum = list(itertools.accumulate(mix))
        for start in range(0, rules, CREATE_BATCH):
            chunk = []
            for i in range(start, min(rules, start + CREATE_BATCH)):
                tier = TIERS[min(bisect_left(cum, rng.random() * cum[-1]), 2)]
                chunk.append(DealAlertRule(user_id=user_ids[i % users], **world.rule(rng, tier)))
            DealAlertRule.objects.bulk_create(chunk)

    def _clean(self, run: str) -> None:
        """Remove the run's rules (raw SQL: the ORM would load every rule to cascade), users, listings."""
        pattern = f"{PREFIX}-{run}-%"
        users = f"SELECT id FROM {User._meta.db_table} WHERE email LIKE %s"
        rule_table = DealAlertRule._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {DealAlertMatch._meta.db_table} WHERE rule_id IN "
                f"(SELECT id FROM {rule_table} WHERE user_id IN ({users}))",
                [pattern],
            )
            cursor.execute(f"DELETE FROM {rule_table} WHERE user_id IN ({users})", [pattern])
        User.objects.filter(email__startswith=f"{PREFIX}-{run}-").delete()
        Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-").delete()

    # --- correctness ----------------------------------------------------------------------------------

    def _listings(self, world: World, count: int, seed: int, run: str, category_ids: dict[str, int]):
        """(facts, model fields) of `count` generated listings, lazily, ids 1, 2, ... (the same for a seed)."""
        rng = random.Random(f"{seed}-listings")
        for serial in range(count):
            row = world.listing(rng, serial, run, category_ids)
            yield ListingFacts.build(id=serial + 1, **{k: row[k] for k in FACT_FIELDS}), row

    def _equal(self, checked: list[tuple[ListingFacts, list]]) -> tuple[bool, int]:
        """The index's matches (rule, why) for the checked listings against `match` over every stored rule."""
        by_index = {(facts.id, rule.id, why) for facts, found in checked for rule, why in found}
        listings = [facts for facts, _ in checked]
        slug_ids = dict(Category.objects.values_list("slug", "id"))
        descendants = category_descendants()
        brute: set = set()
        pairs = 0
        stored = DealAlertRule.objects.select_related("user").only(*RULE_FIELDS, "user__home_zip").order_by("id")
        for rule in stored.iterator(chunk_size=5000):
            spec = rule_spec(rule, home_zip=rule.user.home_zip, slug_ids=slug_ids, descendants=descendants)
            for listing in listings:
                if (why := match(spec, listing)) is not None:
                    brute.add((listing.id, spec.id, why))
            pairs += len(listings)
        return by_index == brute, pairs

    # --- the roadmap's design: one query per rule per listing ---------------------------------------

    def _naive(self, rows: list[dict], run: str, seed: int, sample: int) -> dict:
        """Time `sample` enabled rules x the stored listings, one query each; seconds per query."""
        now = timezone.now()
        Listing.objects.bulk_create(
            [
                Listing(
                    **row,
                    search_words=listing_words(row["title"], row["description"]),
                    first_seen_at=now,
                    last_seen_at=now,
                )
                for row in rows
            ]
        )
        listing_ids = list(
            Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-").values_list("id", flat=True)
        )
        slug_ids = dict(Category.objects.values_list("slug", "id"))
        descendants = category_descendants()
        enabled = DealAlertRule.objects.filter(enabled=True).select_related("user").order_by("id")
        first, last = enabled.values_list("id", flat=True).first(), enabled.values_list("id", flat=True).last()
        if first is None:
            return {"seconds": 0.0, "rules": 0, "listings": len(listing_ids), "queries": 0}
        picked = random.Random(f"{seed}-naive").sample(range(first, last + 1), min(sample * 3, last - first + 1))
        rules = list(enabled.filter(id__in=picked)[:sample])
        specs = [rule_spec(r, home_zip=r.user.home_zip, slug_ids=slug_ids, descendants=descendants) for r in rules]
        Listing.objects.filter(id=listing_ids[0]).exists()  # warm the connection
        started = time.perf_counter()
        queries = 0
        for listing_id in listing_ids:
            for spec, rule in zip(specs, rules, strict=True):
                self._naive_query(spec, rule, listing_id).exists()
                queries += 1
        elapsed = time.perf_counter() - started
        return {
            "seconds": elapsed / max(1, queries),
            "rules": len(rules),
            "listings": len(listing_ids),
            "queries": queries,
        }

    @staticmethod
    def _naive_query(spec: RuleSpec, rule: DealAlertRule, listing_id: int):
        """The rule's criteria as ORM filters on one listing (keywords as substrings, as SQL can)."""
        listings = narrow(Listing.objects.filter(id=listing_id, is_active=True), spec)
        if rule.keywords:
            any_keyword = Q()
            for keyword in rule.keywords:
                any_keyword |= Q(title__icontains=keyword) | Q(description__icontains=keyword)
            listings = listings.filter(any_keyword)
        for keyword in rule.exclude_keywords:
            listings = listings.exclude(Q(title__icontains=keyword) | Q(description__icontains=keyword))
        return listings
