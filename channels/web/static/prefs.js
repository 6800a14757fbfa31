// Applies the reader's saved display preferences before the page paints (no flash of small text).
(function () {
  "use strict";
  try {
    if (window.localStorage.getItem("dasan.largeText") === "1") {
      document.documentElement.classList.add("large-text");
    }
  } catch (error) {
    // Storage may be disabled (private mode); the default size is fine.
  }
})();
