// Video and audio panels (video-file, videos, audio-file, audio): the players of one step,
// with a step slider. GIF videos are shown as images; the rest play in the browser's own
// <video> and <audio> elements, from the run's files.
"use strict";
(() => {
  function clips(v, single, list) {
    if (v._type === single) return [v];
    const own = v[list] || [];
    return own.map((c, i) => ({...c, caption: c.caption ?? (v.captions || [])[i]}));
  }

  async function player(run, clip, kind) {
    const src = await TDMedia.src(run, clip.path);
    if (kind === "video" && /\.gif$/i.test(clip.path)) {
      return TD.el("img", {class: "media-video", src, alt: clip.caption || "video"});
    }
    return TD.el(kind, {class: "media-" + kind, src, controls: true, preload: "metadata",
                        ...(kind === "video" ? {loop: true, muted: true, playsinline: true} : {})});
  }

  function panel(kind, single, list) {
    return async ({run, key, el}) => {
      const got = await TDMedia.values(run, key, 500);
      if (!got.steps.length) { TDMedia.message(el, "Nothing logged."); return; }
      const box = TD.el("div", {class: "media-players"});
      let seq = 0;
      const slider = TDMedia.stepper(got.steps, async (i) => {
        const mine = ++seq;
        const figures = await Promise.all(clips(got.values[i], single, list).map(async (clip) =>
          TD.el("figure", {class: "media-clip", dataset: {path: clip.path}}, await player(run, clip, kind),
                clip.caption ? TD.el("figcaption", {}, clip.caption) : null)));
        if (mine !== seq) return;
        box.replaceChildren(...figures);
        el.dataset.step = String(got.steps[i]);
      });
      el.replaceChildren(slider.el, box);
      slider.show();
    };
  }

  TDMedia.register(["video-file", "videos"], panel("video", "video-file", "videos"));
  TDMedia.register(["audio-file", "audio"], panel("audio", "audio-file", "audio"));
})();
