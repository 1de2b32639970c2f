"""Where the annotation view opens (annotation/last-frame.js) and what Finish sends
(annotation/finish.js), run in Chromium over the cases the page tests cannot easily
reach: a refused or broken storage, junk in the address or the storage, every frame
deleted."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("ui")

RUN = """async () => {
  const m = await import('/static/js/annotation/last-frame.js');
  const f = await import('/static/js/annotation/finish.js');
  const store = () => {
    const data = new Map();
    return {
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => data.set(k, v),
      data,
    };
  };
  const broken = {
    getItem() { throw new Error('denied'); },
    setItem() { throw new Error('full'); },
  };
  const job = { id: 7, start_frame: 10, stop_frame: 14 };
  const at = (options) => m.initialFrame(job, { userId: 3, search: '', ...options });
  const s = store();
  const out = {};
  out.fresh = at({ storage: s });
  m.rememberFrame(3, 7, 12, s);
  out.key = [...s.data.keys()];
  out.remembered = at({ storage: s });
  out.otherUser = m.initialFrame(job, { userId: 4, search: '', storage: s });
  out.otherJob = m.initialFrame({ ...job, id: 8 }, { userId: 3, search: '', storage: s });
  out.requested = at({ storage: s, search: '?frame=14' });
  out.requestedOutside = at({ storage: s, search: '?frame=99' });
  out.requestedJunk = at({ storage: s, search: '?frame=1e1' });
  out.deletedRemembered = at({ storage: s, deleted: new Set([10, 12]) });
  out.allDeleted = at({ storage: s, deleted: new Set([10, 11, 12, 13, 14]) });
  s.setItem(m.frameKey(3, 7), 'abc');
  out.junkStored = at({ storage: s });
  s.setItem(m.frameKey(3, 7), '40');
  out.storedOutside = at({ storage: s });
  m.rememberFrame(3, 7, 11, broken);  // throws inside: nothing breaks
  out.broken = at({ storage: broken });
  out.noStorage = at({ storage: null });
  out.staffBody = f.finishChanges(true);
  out.assigneeBody = f.finishChanges(false);
  out.finished = [
    f.isFinished({ stage: 'annotation', state: 'completed' }, false),
    f.isFinished({ stage: 'annotation', state: 'completed' }, true),
    f.isFinished({ stage: 'acceptance', state: 'completed' }, true),
    f.isFinished({ stage: 'acceptance', state: 'in progress' }, true),
  ];
  return out;
}"""


def test_initial_frame_and_finish_rules(page) -> None:
    page.goto("/jobs")
    out = page.evaluate(RUN)
    assert out["fresh"] == 10
    assert out["key"] == ["annotask.lastFrame.3.7"]
    assert out["remembered"] == 12
    assert (out["otherUser"], out["otherJob"]) == (10, 10)
    assert (out["requested"], out["requestedOutside"], out["requestedJunk"]) == (14, 10, 10)
    assert out["deletedRemembered"] == 11  # the first frame not deleted
    assert out["allDeleted"] == 10
    assert (out["junkStored"], out["storedOutside"]) == (10, 10)
    assert (out["broken"], out["noStorage"]) == (10, 10)
    assert out["staffBody"] == {"stage": "acceptance", "state": "completed"}
    assert out["assigneeBody"] == {"state": "completed"}
    assert out["finished"] == [True, False, True, False]
