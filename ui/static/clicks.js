// js_on_load of every clickable gr.HTML: one delegated listener, so it survives re-renders.
// A marker, a source card or a row carries its target in data-chunk / data-pid / data-q / data-cid,
// a library button its action in data-remove / data-confirm / data-cancel;
// the click goes to Python as trigger('click', {...}). "复制答案及来源" copies in the browser.
element.addEventListener('click', (e) => {
  const copy = e.target.closest('[data-copy]');
  if (copy && element.contains(copy)) {
    const text = copy.dataset.copy;
    const label = copy.textContent;
    const done = () => { copy.textContent = '已复制'; setTimeout(() => { copy.textContent = label; }, 1500); };
    const fallback = () => {
      const ta = document.createElement('textarea');
      ta.value = text; ta.style.position = 'fixed'; ta.style.opacity = '0';
      document.body.appendChild(ta); ta.select();
      try { document.execCommand('copy'); done(); } finally { ta.remove(); }
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
    return;
  }
  const hit = e.target.closest('[data-chunk],[data-pid],[data-q],[data-cid],[data-remove],[data-confirm],[data-cancel]');
  if (!hit || !element.contains(hit)) return;
  e.preventDefault();
  const d = hit.dataset;
  trigger('click', {chunk: d.chunk || '', pid: d.pid || '', q: d.q || '', cid: d.cid || '',
                    remove: d.remove || '', confirm: d.confirm || '', cancel: d.cancel || ''});
});
