// Keeps a category picker's "N selected" summaries current as boxes are ticked
// (listings/templatetags/category_picker.py renders them right the first time, and again after an htmx save).
// One listener on the document, so pickers that htmx swaps in later need nothing.
document.addEventListener("change", function (event) {
  var box = event.target;
  var picker = box.closest && box.closest("[data-category-picker]");
  if (!picker || box.type !== "checkbox") return;
  var names = [];
  picker.querySelectorAll("input[type=checkbox]:checked").forEach(function (checked) {
    names.push(checked.dataset.name);
  });
  // As listings.selectors.selection_summary says it.
  picker.querySelector("[data-summary]").textContent = names.length
    ? names.length + " selected: " + names.join(", ")
    : "None selected";
  picker.querySelectorAll(".picker-group").forEach(function (group) {
    var count = group.querySelectorAll("input[type=checkbox]:checked").length;
    group.querySelector("[data-count]").textContent = count ? " · " + count + " selected" : "";
  });
});
