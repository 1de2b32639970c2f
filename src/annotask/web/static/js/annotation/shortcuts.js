// The annotation view's keyboard shortcuts (CVAT's), for the key handler and the F1
// help dialog, which lists exactly this table.

export const SHORTCUTS = [
  ['N', 'Draw with the current tool; finish a polygon, polyline or points'],
  ['Esc', 'Cancel drawing, deselect'],
  ['D / ←', 'Previous frame'],
  ['F / →', 'Next frame'],
  ['Delete / Backspace', 'Delete the selected object'],
  ['Ctrl+S', 'Save'],
  ['Ctrl+Z', 'Undo'],
  ['Ctrl+Shift+Z / Ctrl+Y', 'Redo'],
  ['Ctrl+C / Ctrl+V', 'Copy the selected object / paste it on this frame'],
  ['Q', 'Occluded on/off'],
  ['L', 'Lock on/off'],
  ['H', 'Hide on/off'],
  ['+ / =', 'Bring the selected object to the front'],
  ['- / _', 'Send the selected object to the back'],
  ['Tab / Shift+Tab', 'Next / previous object (focus on the image)'],
  ['Mouse wheel', 'Zoom at the pointer'],
  ['Drag on empty space, Space+drag, middle button', 'Pan'],
  ['Alt+click or right click on a vertex', 'Remove the vertex'],
  ['Drag the middle of an edge', 'Add a vertex'],
  ['Double click', 'Finish a polygon, polyline or points'],
  ['F1', 'This help'],
];

/** `Ctrl+Z` owned by the view even in fields: 'undo', 'redo', 'save' or null. */
export function historyKey(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = event.key.toLowerCase();
  if (key === 's') return 'save';
  if (key === 'z') return event.shiftKey ? 'redo' : 'undo';
  if (key === 'y') return 'redo';
  return null;
}
