// Plotly chart panels (plotly-file: plotly figures and converted matplotlib figures): the
// figure of one step drawn with plotly.js, with a step slider.
"use strict";
(() => {
  TDMedia.register(["plotly-file"], async ({run, key, el}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No charts logged."); return; }
    const div = TD.el("div", {class: "media-plotly"});
    let seq = 0;
    const slider = TDMedia.stepper(got.steps, async (i) => {
      const mine = ++seq;
      const [fig, P] = await Promise.all([TDMedia.json(run, got.values[i].path), TD.plotly()]);
      if (mine !== seq) return;
      const layout = {...(fig.layout || {}), autosize: true};
      delete layout.width;
      await P.react(div, fig.data || [], layout, {responsive: true, displaylogo: false});
      Object.assign(div.dataset, {drawn: "1", traces: String((fig.data || []).length)});
      el.dataset.step = String(got.steps[i]);
    });
    el.replaceChildren(slider.el, div);
    slider.show();
  });
})();
