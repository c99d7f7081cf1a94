// Progressive enhancement only: the page works without JavaScript.
"use strict";

const SUGGEST_DELAY_MS = 150; // typing pause before suggestions are asked for
const SUGGEST_LIMIT = 8;
const KINDS = { drug: "Drug", brand: "Brand", condition: "Condition", class: "Drug class" };

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search-form");
  if (!form) return;
  // Ticking a facet box applies it at once instead of waiting for "Apply filters" (the
  // hint above the boxes says so), and the box keeps the focus on the page that follows.
  form.querySelectorAll(".facet input[type=checkbox]").forEach((box) => {
    box.addEventListener("change", () => {
      remember(box.name + "=" + box.value);
      form.requestSubmit();
    });
  });
  const apply = form.querySelector("button.apply");
  if (apply) apply.hidden = true;
  const hint = document.getElementById("filters-hint");
  if (hint) hint.hidden = false;
  // Wide screens show the filters as a sidebar (CSS does it too, where supported).
  const filters = document.getElementById("filters");
  if (filters && window.matchMedia("(min-width: 700px)").matches) filters.open = true;
  refocusFacet(form);

  const box = document.getElementById("q");
  const list = document.getElementById("q-suggestions");
  const status = document.getElementById("q-status");
  if (box && list) combobox(box, list, status);
});

// The facet box ticked on the previous page, kept for one page load only.
const FOCUS_KEY = "monosearch-facet-focus";

function remember(value) {
  try {
    sessionStorage.setItem(FOCUS_KEY, value);
  } catch (error) {
    // Storage refused (private mode): the box simply loses the focus.
  }
}

function refocusFacet(form) {
  let wanted = null;
  try {
    wanted = sessionStorage.getItem(FOCUS_KEY);
    sessionStorage.removeItem(FOCUS_KEY);
  } catch (error) {
    return;
  }
  if (!wanted) return;
  const box = Array.from(form.querySelectorAll(".facet input[type=checkbox]"))
    .find((input) => input.name + "=" + input.value === wanted);
  if (!box) return;
  for (let open = box.closest("details"); open; open = open.parentElement.closest("details")) {
    open.open = true; // "Show all" and, on a phone, the filters themselves
  }
  box.focus(); // before autofocus runs, which then leaves the focus where it is
}

// Where choosing a suggestion leads: a drug's page, or the facet it names.
function target(item) {
  if (item.kind === "drug" || item.kind === "brand") {
    return "/drug/" + encodeURIComponent(item.value);
  }
  const param = item.kind === "condition" ? "indication" : "drug_class";
  return "/?" + new URLSearchParams({ [param]: item.value }).toString();
}

// What an option says: a brand with its generic ("Qvar → Beclomethasone").
function optionText(item) {
  const prefix = item.query + " (";
  if (item.kind === "brand" && item.label.startsWith(prefix) && item.label.endsWith(")")) {
    return item.query + " → " + item.label.slice(prefix.length, -1);
  }
  return item.label;
}

// The WAI-ARIA 1.2 combobox pattern (list autocomplete, listbox popup): arrow keys move
// through the options, Enter chooses one, Escape closes the list; the focus stays in
// the box and aria-activedescendant names the active option. Options are built with
// textContent, never as HTML.
function combobox(box, list, status) {
  box.setAttribute("role", "combobox");
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-expanded", "false");
  box.setAttribute("aria-controls", list.id);
  let items = [];
  let active = -1;
  let timer = null;
  let asked = 0; // number of the latest request: older answers are dropped
  let controller = null;

  function close() {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function show(found) {
    items = found;
    active = -1;
    list.replaceChildren(...items.map((item, index) => {
      const option = document.createElement("li");
      option.id = "q-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.kind = item.kind;
      const text = document.createElement("span");
      text.className = "label";
      text.textContent = optionText(item);
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = KINDS[item.kind] || item.kind;
      option.append(text, kind);
      option.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
      option.addEventListener("click", () => choose(index));
      return option;
    }));
    if (status) {
      status.textContent = items.length ? items.length + " suggestions; arrow keys to choose" : "";
    }
    if (items.length) {
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
    } else {
      close();
    }
  }

  function highlight(index) {
    const options = list.querySelectorAll("[role=option]");
    options.forEach((option, n) => option.setAttribute("aria-selected", String(n === index)));
    active = index;
    if (index < 0) {
      box.removeAttribute("aria-activedescendant");
      return;
    }
    box.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }

  function choose(index) {
    const item = items[index];
    if (!item) return;
    box.value = item.query;
    close();
    window.location.assign(target(item));
  }

  async function ask(typed, number) {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch(
        "/api/suggest?" + new URLSearchParams({ limit: SUGGEST_LIMIT, q: typed }).toString(),
        { signal: controller.signal });
      if (!response.ok || number !== asked) return;
      const body = await response.json();
      if (number === asked && box.value.trim() === typed) show(body.suggestions);
    } catch (error) { /* aborted or offline: suggestions are optional */ }
  }

  box.addEventListener("input", () => {
    clearTimeout(timer);
    const typed = box.value.trim();
    asked += 1;
    if (typed.length < 2) { show([]); return; }
    const number = asked;
    timer = setTimeout(() => ask(typed, number), SUGGEST_DELAY_MS);
  });

  box.addEventListener("keydown", (event) => {
    const open = !list.hidden && items.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!open) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = active + step;
      highlight(next < -1 ? items.length - 1 : next >= items.length ? -1 : next);
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else {
        close();
      }
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        close();
      }
    } else if (event.key === "Tab") {
      close();
    }
  });
  box.addEventListener("blur", () => close());
}
