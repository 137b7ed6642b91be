// js_on_load of a source viewer: bring the highlighted paragraph into view after each render.
watch('value', () => {
  const hit = element.querySelector('.para.cited');
  if (hit) hit.scrollIntoView({block: 'center', behavior: 'instant'});
});
