// The top bar's right side: the tenant the UI acts in (a switcher when the user has several) and
// the signed-in user's menu (who, which role, log out).
import { useEffect, useRef, useState } from "preact/hooks";
import { navigate } from "../router.jsx";
import { logout, switchTenant } from "../session.js";

function TenantIcon() {
  return (
    <svg class="topbar-icon" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M2.5 14V4.5L8 2l5.5 2.5V14M2.5 14h11M5.5 7h1M9.5 7h1M5.5 10h1M9.5 10h1" />
    </svg>
  );
}

function UserIcon() {
  return (
    <svg class="topbar-icon" viewBox="0 0 16 16" aria-hidden="true">
      <circle cx="8" cy="5.5" r="2.8" />
      <path d="M2.8 14c.6-2.8 2.7-4.3 5.2-4.3s4.6 1.5 5.2 4.3" />
    </svg>
  );
}

export function TenantSwitcher({ me }) {
  if (me.tenants.length < 2)
    return (
      <span class="tenant-name" title="The tenant you work in">
        <TenantIcon />
        <span class="topbar-label">Tenant</span>
        <strong>{me.tenant}</strong>
      </span>
    );
  return (
    <label class="tenant-name tenant-switch" title="The tenant you work in">
      <TenantIcon />
      <span class="topbar-label">Tenant</span>
      <select
        aria-label="Tenant"
        value={me.tenant}
        onChange={async (e) => {
          await switchTenant(e.target.value);
          navigate("/");
        }}
      >
        {me.tenants.map((t) => (
          <option value={t.name}>{t.name}</option>
        ))}
      </select>
    </label>
  );
}

export function UserMenu({ me }) {
  const [open, setOpen] = useState(false);
  const root = useRef();
  useEffect(() => {
    if (!open) return undefined;
    const away = (e) => root.current && !root.current.contains(e.target) && setOpen(false);
    const key = (e) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", away);
    document.addEventListener("keydown", key);
    return () => {
      document.removeEventListener("mousedown", away);
      document.removeEventListener("keydown", key);
    };
  }, [open]);
  return (
    <div class="user-menu" ref={root}>
      <button
        type="button"
        class="user-button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-label={`Signed in as ${me.user}`}
        onClick={() => setOpen(!open)}
      >
        <UserIcon />
        {me.user}
        <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <div class="user-popup">
          <p class="user-who">
            Signed in as <strong>{me.user}</strong>
            <br />
            <span class="muted">
              {me.role} in {me.tenant}
            </span>
          </p>
          <button
            type="button"
            class="btn btn-small"
            onClick={async () => {
              await logout();
              navigate("/login");
            }}
          >
            Log out
          </button>
        </div>
      )}
    </div>
  );
}
