// A listing photo that fails to load (the marketplace took it down) is removed rather than
// shown broken. A listener, not an inline onerror: the Content-Security-Policy forbids those.
document.addEventListener("error", function (event) {
  if (event.target instanceof HTMLImageElement && event.target.classList.contains("photo")) {
    event.target.remove();
  }
}, true);
