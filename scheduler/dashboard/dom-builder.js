/* global document */
// Building DOM and SVG nodes. Text always goes in as text nodes, never as markup, so nothing the
// API returns (job names, node ids, error details) can inject HTML.

/** The SVG namespace, taken from the page's own <svg> elements (no URL literal needed). */
let svgNamespace;

function namespace() {
  svgNamespace ??= document.querySelector('svg').namespaceURI;
  return svgNamespace;
}

function fill(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/** An HTML element: el('td', { class: 'numeric' }, 'text', otherNode). */
export function el(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, same calling convention. */
export function svg(tag, attributes, ...children) {
  return fill(document.createElementNS(namespace(), tag), attributes, children);
}

/** Replaces every child of `parent` with `children`. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
}
