"""The browser's track interpolation (annotation/interpolation.js, run in Chromium) gives the
shared vectors of tests/annotations/interpolation_vectors.json, which the server's
interpolation gives too (tests/annotations/test_interpolation_vectors.py)."""

from __future__ import annotations

import pytest

from tests.annotations.test_interpolation_vectors import close, load

pytestmark = pytest.mark.xdist_group("ui")

RUN = """async (cases) => {
  const m = await import('/static/js/annotation/interpolation.js');
  return cases.map((c) => {
    const track = { ...c.track, label_id: 1 };
    const options = { includeOutside: Boolean(c.include_outside) };
    const all = m.interpolateTrack(track, c.stop_frame, options);
    const pick = (s) => ({ frame: s.frame, keyframe: s.keyframe, outside: s.outside,
      occluded: s.occluded, z_order: s.z_order, rotation: s.rotation, points: s.points,
      attributes: [...s.attributes].sort((a, b) => a.spec_id - b.spec_id) });
    const frames = [];
    const states = [];
    for (let f = 0; f <= c.stop_frame + 2; f += 1) {
      const shape = m.shapeAt(track, f, c.stop_frame);
      frames.push(shape ? pick(shape) : null);
      const state = m.stateAt(track, f, c.stop_frame).shape;
      states.push(state ? pick(state) : null);
    }
    return { all: all.map(pick), frames, states };
  });
}"""


def test_the_browser_interpolation_gives_the_shared_vectors(page) -> None:
    cases = load()
    page.goto("/tasks")
    results = page.evaluate(RUN, cases)
    for case, result in zip(cases, results, strict=True):
        assert close(result["all"], case["expected"]), case["name"]
        # One frame at a time (what the view draws): the visible shape of that frame, or none.
        visible = {s["frame"]: s for s in case["expected"] if not s["outside"]}
        for frame, shape in enumerate(result["frames"]):
            assert close(shape, visible.get(frame)), (case["name"], frame)
        if case.get("include_outside"):  # the state of a frame, outside or not (listed)
            every = {s["frame"]: s for s in case["expected"]}
            for frame, state in enumerate(result["states"]):
                assert close(state, every.get(frame)), (case["name"], frame)
