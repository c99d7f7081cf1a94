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
});
