// Set-up for the stored ipywidgets views, loaded after require.js and before embed-amd.js
// (see nb_ipywidgets_js in _config.yml).  Sphinx copies book/_vendor/ to the site root.
(function () {
  // The widget manager is a set of AMD modules; require.js names their location after its
  // baseUrl, and the manager loads its icon fonts from there.  Point it at the book's own
  // vendor/ folder, so that the fonts come with the book and not from next to each page.
  var root = document.documentElement.getAttribute("data-content_root") || "./";
  require.config({ baseUrl: root + "vendor/" });

  // ipywidgets 8 typesets widget labels with MathJax 2's MathJax.Hub.Queue; the book serves
  // MathJax 3.  Offer that one call on top of MathJax 3 (which has loaded by DOMContentLoaded:
  // its script is deferred), before the widgets render on window "load".
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        mj.startup.promise
          .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
          .catch(function (e) { console.warn("MathJax could not typeset a widget label:", e); });
      },
    };
  });
})();
