// Progressive enhancement only: the page works without JavaScript.
// Ticking a facet box applies it at once instead of waiting for "Apply filters".
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search-form");
  if (!form) return;
  form.querySelectorAll(".facet input[type=checkbox]").forEach((box) => {
    box.addEventListener("change", () => form.requestSubmit());
  });
  const apply = form.querySelector("button.apply");
  if (apply) apply.hidden = true;

  // Search-as-you-type: names from /api/suggest fill the box's datalist. Options are
  // built with textContent/value, never as HTML.
  const box = document.getElementById("q");
  const list = document.getElementById("suggestions");
  if (!box || !list) return;
  let pending = null;
  box.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const typed = box.value.trim();
      if (typed.length < 2) { list.replaceChildren(); return; }
      try {
        const response = await fetch("/api/suggest?limit=8&q=" + encodeURIComponent(typed));
        if (!response.ok) return;
        const body = await response.json();
        list.replaceChildren(...body.suggestions.map((item) => {
          const option = document.createElement("option");
          option.value = item.query;
          option.textContent = item.label;
          return option;
        }));
      } catch (error) { /* suggestions are optional */ }
    }, 120);
  });
});
