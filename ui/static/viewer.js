// js_on_load of a source viewer: bring the highlighted paragraph into view after each render,
// its first line just below the sticky header (centering a long paragraph hid its start under it).
watch('value', () => {
  const hit = element.querySelector('.para.cited');
  if (!hit) return;
  const head = element.querySelector('.focus-head');
  hit.style.scrollMarginTop = ((head ? head.getBoundingClientRect().height : 0) + 12) + 'px';
  hit.scrollIntoView({block: 'start', behavior: 'instant'});
});
