// The notebook editor's icons (16px SVG paths; filled or stroked) and its icon-only buttons.
const ICONS = {
  play: ["M5 3.2v9.6l7.6-4.8z", true],
  runAll: ["M1.8 3.4v9.2l6-4.6zM8.4 3.4v9.2l6-4.6z", true],
  stop: ["M4 4h8v8H4z", true],
  restart: ["M13 8a5 5 0 1 1-1.6-3.7M13.2 2.6v3h-3", false],
  up: ["M4 10l4-4 4 4", false],
  down: ["M4 6l4 4 4-4", false],
  plus: ["M8 3v10M3 8h10", false],
  above: ["M2.5 13h11M8 2.5v7M4.5 6h7", false],
  below: ["M2.5 3h11M8 6.5v7M4.5 10h7", false],
  trash: ["M3 4.5h10M6.3 4.5V3h3.4v1.5M4.5 4.5l.7 8.5h5.6l.7-8.5", false],
  clear: ["M3 3l10 10M13 3L3 13", false],
  download: ["M8 2.5v8M4.5 7.5 8 11l3.5-3.5M3 13.5h10", false],
  power: ["M8 2.2v5.3M4.6 4.4a5 5 0 1 0 6.8 0", false],
  job: ["M3 3.5h10v9H3zM3 6.5h10M6 9.5h4", false],
};

export function Icon({ name }) {
  const [d, filled] = ICONS[name];
  return (
    <svg class={"nb-icon" + (filled ? " filled" : "")} viewBox="0 0 16 16" aria-hidden="true">
      <path d={d} />
    </svg>
  );
}

export function IconButton({ icon, label, onClick, disabled, pressed }) {
  return (
    <button type="button" class="nb-icon-btn" aria-label={label} title={label} onClick={onClick} disabled={disabled} aria-pressed={pressed}>
      <Icon name={icon} />
    </button>
  );
}
