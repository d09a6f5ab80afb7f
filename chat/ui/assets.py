"""The app's CSS and the small script that links citation markers to their sources.

Kept as strings (not files) so that they ship with the package as they are.
"""

CSS = """
#rc-status { font-size: 0.95em; }
.rc-warnings { border: 1px solid #d97706; background: #fffbeb; color: #78350f; border-radius: 6px;
  padding: 6px 10px; margin-bottom: 8px; }
.rc-warnings ul { margin: 4px 0 0 18px; }
.rc-empty { color: #6b7280; font-style: italic; }
.rc-turn > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.rc-source { border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 10px; margin: 6px 0;
  scroll-margin-top: 80px; transition: box-shadow 0.3s, border-color 0.3s; }
.rc-source:target, .rc-source.rc-flash { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, 0.35); }
.rc-source-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.rc-n { font-weight: 700; color: #2563eb; }
.rc-file { font-weight: 600; word-break: break-all; }
.rc-page { color: #374151; font-size: 0.9em; white-space: nowrap; }
.rc-score { margin-left: auto; color: #6b7280; font-size: 0.85em; }
.rc-heading { color: #4b5563; font-size: 0.9em; margin: 2px 0 4px; }
.rc-text { white-space: pre-wrap; line-height: 1.6; }
.rc-text mark { background: #fde68a; padding: 0 1px; }
.rc-others > summary { cursor: pointer; color: #4b5563; margin-top: 6px; }
a.cite, a[href^="#src-"] { font-weight: 600; text-decoration: none; cursor: pointer; }
.rc-docs { border-collapse: collapse; width: 100%; }
.rc-docs th, .rc-docs td { border-bottom: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; }
.rc-docs td.num { text-align: right; white-space: nowrap; }
.rc-update .rc-skipped { color: #92400e; }
.rc-note { color: #4b5563; font-size: 0.9em; }
"""

# A click on a marker [n] (a link to #src-<turn>-<n>) opens that answer's sources, scrolls to
# the source card and highlights it. Capture phase: it runs before the chatbot's own link handling.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  var link = event.target && event.target.closest ? event.target.closest('a[href^="#src-"]') : null;
  if (!link) { return; }
  event.preventDefault();
  event.stopPropagation();
  var id = link.getAttribute("href").slice(1);
  var card = document.getElementById(id);
  if (!card) { return; }
  var turn = card.closest("details");
  while (turn) { turn.open = true; turn = turn.parentElement ? turn.parentElement.closest("details") : null; }
  document.querySelectorAll(".rc-source.rc-flash").forEach(function (el) { el.classList.remove("rc-flash"); });
  card.classList.add("rc-flash");
  card.scrollIntoView({behavior: "smooth", block: "center"});
  if (window.history && window.history.replaceState) { window.history.replaceState(null, "", "#" + id); }
}, true);
</script>
"""
