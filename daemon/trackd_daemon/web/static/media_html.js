// Html panels (html-file): logged HTML in an iframe sandboxed with scripts only — never
// allow-same-origin — from the route that serves it with a sandbox policy of its own: it runs
// in an opaque origin, which can neither read the dashboard's cookie nor call its API.
"use strict";
(() => {
  TDMedia.register(["html-file"], async ({run, key, el}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No Html logged."); return; }
    if (TDMedia.embedded) {  // its frame would load without the session: no cookie here
      TDMedia.message(el, "Logged Html is shown on the run's page in the dashboard itself.");
      return;
    }
    const frame = TD.el("iframe", {class: "media-html", sandbox: "allow-scripts",
                                   referrerpolicy: "no-referrer", title: key});
    const slider = TDMedia.stepper(got.steps, (i) => {
      frame.src = TDMedia.htmlUrl(run, got.values[i].path);
      el.dataset.step = String(got.steps[i]);
    });
    el.replaceChildren(slider.el, frame);
    slider.show();
  });
})();
