// Runs: the history of notebook runs, a run's record with its executed notebook (read-only),
// the "Run notebook" dialog with parameters, and the cron schedules.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { pythonLanguage } from "@codemirror/lang-python";
import { classHighlighter, highlightCode } from "@lezer/highlight";
import { API, all, del, get, post } from "../api.js";
import { ago, datetime, duration } from "../format.js";
import { Markdown, Outputs, joined } from "../outputs.jsx";
import { Link, match, navigate, useLocation } from "../router.jsx";
import { Badge, Button, Confirm, Empty, ErrorBox, Field, Loading, Modal, Page, Tabs, toast } from "../ui.jsx";
import "./runs.css";
import { parseValue, typeOf } from "../params.js";

const ACTIVE = new Set(["queued", "running"]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

// ---------------------------------------------------------------------------------------------
// Small pieces the Processing page uses too.

/** Fetch now, then every `fast` ms while isActive(data), else every `slow` ms (0: not again). */
export function useLivePoll(fn, isActive, deps, fast = 1000, slow = 10000) {
  const [state, setState] = useState({ data: undefined, error: null });
  const ref = useRef({});
  ref.current.fn = fn;
  ref.current.isActive = isActive;
  const gen = useRef(0);
  const reload = useCallback(async () => {
    const mine = gen.current;
    try {
      const data = await ref.current.fn();
      if (mine === gen.current) setState({ data, error: null });
      return data;
    } catch (error) {
      if (mine === gen.current) setState((s) => ({ data: s.data, error }));
      return undefined;
    }
  }, []);
  useEffect(() => {
    const mine = ++gen.current;
    setState({ data: undefined, error: null });
    let last = Date.now();
    let data;
    let busy = true;
    reload().then((d) => {
      data = d;
      busy = false;
    });
    const timer = setInterval(
      async () => {
        if (busy || document.visibilityState !== "visible" || mine !== gen.current) return;
        const active = data !== undefined && ref.current.isActive(data);
        const wait = active || data === undefined ? fast : slow;
        if (!wait || Date.now() - last < wait) return;
        busy = true;
        last = Date.now();
        data = (await reload()) ?? data;
        busy = false;
      },
      Math.min(fast, 1000),
    );
    return () => {
      clearInterval(timer);
      gen.current++;
    };
  }, deps);
  return [state.data, state.error, reload];
}

function show(value) {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A dict as chips: key=value (or key: value), values compact, long ones cut with a tooltip. */
export function KeyValues({ data, sep = "=", empty = null, max = 60 }) {
  const entries = Object.entries(data || {});
  if (!entries.length) return empty;
  return (
    <span class="kv">
      {entries.map(([k, v]) => {
        const text = show(v);
        const cut = text.length > max ? text.slice(0, max - 1) + "…" : text;
        return (
          <span class="kv-chip" title={text.length > max ? text : undefined}>
            <span class="kv-key">{k}</span>
            <span class="kv-sep">{sep}</span>
            <span class={"kv-val kv-" + (v === null ? "null" : typeof v)}>{cut}</span>
          </span>
        );
      })}
    </span>
  );
}

/** The tenant's notebooks, for names and pickers. */
export function useNotebooks() {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    all("/notebooks").then(setList, setError);
  }, []);
  const names = useMemo(() => Object.fromEntries((list || []).map((n) => [n.id, n.name])), [list]);
  return [list, names, error];
}

export function shortId(id) {
  return String(id).slice(0, 8);
}

function until(when) {
  if (!when) return "";
  const s = (new Date(when).getTime() - Date.now()) / 1000;
  if (s < 0) return "due now";
  if (s < 60) return `in ${Math.ceil(s)} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86400)} d`;
}

// ---------------------------------------------------------------------------------------------
// Parameters: rows of name and value; a value is JSON when it parses, else a string.

/** The text to edit a value as, such that parseValue gives the value back. */
function editable(v) {
  if (typeof v === "string" && parseValue(v) === v) return v;
  return JSON.stringify(v);
}

/** Defaults from the cell tagged `parameters` (as papermill reads them): name = value lines. */
function defaultsOf(content) {
  const cell = (content?.cells || []).find((c) => (c.metadata?.tags || []).includes("parameters"));
  if (!cell) return [];
  const rows = [];
  for (const line of joined(cell.source).split("\n")) {
    const m = line.match(/^([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(.*?)\s*(#.*)?$/);
    if (m) rows.push({ key: m[1], value: "", placeholder: m[2], fixed: true });
  }
  return rows;
}

function toParameters(rows) {
  const out = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (!key && r.value === "") continue;
    if (!IDENT.test(key)) throw new Error(`“${key}” is not a valid parameter name (letters, digits and _, not starting with a digit).`);
    if (r.value === "") continue;
    out[key] = parseValue(r.value);
  }
  return out;
}

function ParamRows({ rows, onChange }) {
  const set = (i, change) => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div class="params">
      {rows.length > 0 && (
        <div class="params-head">
          <span>Name</span>
          <span>Value</span>
        </div>
      )}
      {rows.map((r, i) => (
        <div class="params-row" key={i}>
          <input
            aria-label="Parameter name"
            class="mono"
            placeholder="name"
            value={r.key}
            readOnly={r.fixed}
            onInput={(e) => set(i, { key: e.target.value })}
          />
          <input
            aria-label={r.key ? `Value of ${r.key}` : "Parameter value"}
            class="mono"
            placeholder={r.placeholder ? `${r.placeholder} (default)` : "value"}
            value={r.value}
            onInput={(e) => set(i, { value: e.target.value })}
          />
          <span class="params-type" title="How the value is passed">
            {typeOf(r.value)}
          </span>
          <button
            type="button"
            class="icon-btn"
            aria-label={`Remove parameter ${r.key}`}
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            ×
          </button>
        </div>
      ))}
      <div class="row">
        <Button small onClick={() => onChange([...rows, { key: "", value: "" }])}>
          + Add parameter
        </Button>
        <span class="field-hint">
          Values are JSON when valid (42, true, [1, 2], "text"), otherwise text. An empty value keeps the default.
        </span>
      </div>
    </div>
  );
}

export function NotebookSelect({ notebooks, value, onChange, label = "Notebook" }) {
  const ref = useRef();
  useEffect(() => {
    if (!value && ref.current) ref.current.focus();
  }, []);
  const groups = [
    ["Analytics", (notebooks || []).filter((n) => n.kind !== "processing")],
    ["Processing", (notebooks || []).filter((n) => n.kind === "processing")],
  ].filter(([, l]) => l.length);
  return (
    <Field label={label}>
      <select ref={ref} value={value} onChange={(e) => onChange(e.target.value)} required>
        <option value="" disabled>
          Choose a notebook…
        </option>
        {groups.map(([name, list]) => (
          <optgroup label={name}>
            {list.map((n) => (
              <option value={n.id}>{n.name}</option>
            ))}
          </optgroup>
        ))}
      </select>
    </Field>
  );
}

/** Rows for a notebook: its defaults, with the values given (or kept) filled in. */
function useParamRows(notebookId, initial) {
  const [rows, setRows] = useState(() => Object.entries(initial || {}).map(([key, v]) => ({ key, value: editable(v) })));
  useEffect(() => {
    if (!notebookId) return;
    let gone = false;
    get(`/notebooks/${encodeURIComponent(notebookId)}`)
      .then((nb) => {
        if (gone) return;
        const defaults = defaultsOf(nb.notebook);
        setRows((current) => {
          const byKey = Object.fromEntries(current.filter((r) => r.key).map((r) => [r.key, r]));
          const merged = defaults.map((d) => ({ ...d, value: byKey[d.key]?.value ?? "" }));
          const extra = current.filter((r) => !defaults.some((d) => d.key === r.key) && (r.key || r.value) && !r.fixed);
          return [...merged, ...extra];
        });
      })
      .catch(() => {});
    return () => (gone = true);
  }, [notebookId]);
  return [rows, setRows];
}

/** Start a run: notebook, parameters, timeout; opens the run's page. */
export function RunDialog({ notebookId = "", parameters, onClose }) {
  const [notebooks] = useNotebooks();
  const [nb, setNb] = useState(notebookId);
  const [rows, setRows] = useParamRows(nb, parameters);
  const [timeout, setTimeoutS] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!nb) return setError("Choose a notebook to run.");
    let params;
    try {
      params = toParameters(rows);
    } catch (err) {
      return setError(err.message);
    }
    const body = { parameters: params };
    if (timeout !== "") {
      const t = Number(timeout);
      if (!(t > 0)) return setError("The timeout is a number of seconds above 0.");
      body.timeout_s = t;
    }
    setBusy(true);
    try {
      const run = await post(`/notebooks/${encodeURIComponent(nb)}/runs`, body);
      onClose();
      toast("Run started");
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Run notebook"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="run-form" busy={busy}>
            ▶ Start run
          </Button>
        </>
      }
    >
      <form onSubmit={submit} id="run-form">
        {notebooks === undefined ? (
          <Loading />
        ) : notebooks.length === 0 ? (
          <p class="muted">
            No notebooks yet: create one on the <Link href="/notebooks">Notebooks</Link> page.
          </p>
        ) : (
          <NotebookSelect notebooks={notebooks} value={nb} onChange={setNb} />
        )}
        <div class="field">
          <span class="field-label">Parameters</span>
          <ParamRows rows={rows} onChange={setRows} />
        </div>
        <Field label="Timeout (seconds)" hint="Optional: past it the running cell is interrupted and the run ends as timed out.">
          <input
            type="number"
            min="1"
            step="any"
            placeholder="no limit"
            value={timeout}
            onInput={(e) => setTimeoutS(e.target.value)}
            class="run-timeout"
          />
        </Field>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

// ---------------------------------------------------------------------------------------------
// The list of runs.

function Progress({ run }) {
  const pct = run.cells_total ? Math.round((100 * run.cells_done) / run.cells_total) : 0;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin="0"
      aria-valuemax={run.cells_total}
      aria-valuenow={run.cells_done}
      aria-label="Progress"
    >
      <div style={{ width: pct + "%" }} />
    </div>
  );
}

function RunsTable({ runs, names }) {
  return (
    <table class="table run-table">
      <thead>
        <tr>
          <th>Status</th>
          <th>Notebook</th>
          <th>Run</th>
          <th>Started</th>
          <th class="num">Duration</th>
          <th>Parameters</th>
          <th class="num">Attempt</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} class="clickable" onClick={(e) => e.target.closest("a") || navigate(`/runs/${r.id}`)}>
            <td>
              <Badge status={r.status} />
              {r.status === "running" && r.cells_total > 0 && (
                <span class="run-mini muted">
                  {r.cells_done}/{r.cells_total}
                </span>
              )}
            </td>
            <td>
              <span class="run-nbname">{names[r.notebook_id] || r.notebook_id}</span>
              <span class="muted"> · rev {r.notebook_revision}</span>
            </td>
            <td>
              <Link href={`/runs/${r.id}`} class="mono">
                {shortId(r.id)}
              </Link>
            </td>
            <td title={datetime(r.started_at || r.created_at)}>{ago(r.started_at || r.created_at)}</td>
            <td class="num">{r.started_at ? duration(r.started_at, r.finished_at) : <span class="muted">–</span>}</td>
            <td>
              <KeyValues data={r.parameters} empty={<span class="muted">–</span>} max={32} />
            </td>
            <td class="num">
              {r.attempt > 1 ? (
                <span class="badge badge-wait" title="The first attempt lost its kernel or node">
                  {r.attempt}
                </span>
              ) : (
                r.attempt
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunsTab({ notebooks, names, filter, onRun }) {
  const [limit, setLimit] = useState(50);
  const [page, error] = useLivePoll(
    () => get("/runs", { notebook_id: filter, limit }),
    (p) => p.items.some((r) => ACTIVE.has(r.status)),
    [filter, limit],
    1000,
    10000,
  );
  const active = page ? page.items.filter((r) => ACTIVE.has(r.status)).length : 0;
  return (
    <>
      <div class="toolbar">
        <label class="row">
          <span class="field-label">Notebook</span>
          <select
            aria-label="Filter by notebook"
            value={filter}
            onChange={(e) => navigate(e.target.value ? `/runs?notebook=${encodeURIComponent(e.target.value)}` : "/runs", { replace: true })}
          >
            <option value="">All notebooks</option>
            {(notebooks || []).map((n) => (
              <option value={n.id}>{n.name}</option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        {active > 0 && (
          <span class="live-note">
            <span class="live-dot" /> {active} active · refreshing
          </span>
        )}
      </div>
      <ErrorBox error={error} />
      {page === undefined ? (
        !error && <Loading />
      ) : page.items.length === 0 ? (
        <div class="panel">
          <Empty>
            {filter ? "This notebook has not been run yet." : "No runs yet."}{" "}
            <button class="linkish" onClick={onRun}>
              Run a notebook
            </button>{" "}
            with parameters, or trigger one through the REST API.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <RunsTable runs={page.items} names={names} />
          {page.next && limit < 1000 && (
            <div class="table-more">
              <Button small onClick={() => setLimit(Math.min(1000, limit + 50))}>
                Show older runs
              </Button>
            </div>
          )}
        </div>
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// Schedules.

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** A few common cron shapes in words; "" for the rest. */
export function describeCron(cron) {
  const f = (cron || "").trim().split(/\s+/);
  if (f.length !== 5) return "";
  const [mi, h, dom, mon, dow] = f;
  const num = (s) => /^\d+$/.test(s);
  const hm = () => `${h.padStart(2, "0")}:${mi.padStart(2, "0")}`;
  if (dom !== "*" || mon !== "*") {
    if (num(mi) && num(h) && num(dom) && mon === "*" && dow === "*") return `monthly on day ${dom} at ${hm()}`;
    return "";
  }
  if (f.every((x) => x === "*")) return "every minute";
  let m;
  if ((m = mi.match(/^\*\/(\d+)$/)) && h === "*" && dow === "*") return `every ${m[1]} minutes`;
  if (num(mi) && h === "*" && dow === "*") return `every hour at :${mi.padStart(2, "0")}`;
  if (num(mi) && (m = h.match(/^\*\/(\d+)$/)) && dow === "*") return `every ${m[1]} hours at :${mi.padStart(2, "0")}`;
  if (num(mi) && num(h)) {
    if (dow === "*") return `every day at ${hm()}`;
    if (dow === "1-5") return `weekdays at ${hm()}`;
    if (/^[0-7](,[0-7])*$/.test(dow))
      return `${dow
        .split(",")
        .map((d) => DAYS[+d % 7] + "s")
        .join(", ")} at ${hm()}`;
  }
  return "";
}

const PRESETS = [
  ["*/5 * * * *", "Every 5 min"],
  ["0 * * * *", "Hourly"],
  ["0 6 * * *", "Daily 06:00"],
  ["0 6 * * 1", "Mondays 06:00"],
];

/** A time as read in a timezone: "Mon 30 Nov, 06:00 (Europe/Paris)". */
function zoned(when, timeZone) {
  try {
    const text = new Date(when).toLocaleString("en-GB", {
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      timeZone,
    });
    return `${text} (${timeZone})`;
  } catch {
    return datetime(when);
  }
}

function timezones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

function ScheduleDialog({ notebookId = "", onClose, onCreated }) {
  const [notebooks] = useNotebooks();
  const [nb, setNb] = useState(notebookId);
  const [cron, setCron] = useState("0 6 * * *");
  const [tz, setTz] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const [rows, setRows] = useParamRows(nb);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const zones = useMemo(timezones, []);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!nb) return setError("Choose the notebook to run.");
    let params;
    try {
      params = toParameters(rows);
    } catch (err) {
      return setError(err.message);
    }
    setBusy(true);
    try {
      const s = await post(`/notebooks/${encodeURIComponent(nb)}/schedules`, {
        cron: cron.trim(),
        timezone: tz.trim() || "UTC",
        parameters: params,
      });
      toast("Schedule created");
      onCreated(s);
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const words = describeCron(cron);
  return (
    <Modal
      title="New schedule"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button kind="primary" type="submit" form="schedule-form" busy={busy}>
            Create schedule
          </Button>
        </>
      }
    >
      <form onSubmit={submit} id="schedule-form">
        {notebooks === undefined ? <Loading /> : <NotebookSelect notebooks={notebooks} value={nb} onChange={setNb} />}
        <div class="grid-2">
          <Field
            label="Cron"
            hint={<>minute · hour · day of month · month · day of week{words && <strong class="cron-words"> — runs {words}</strong>}</>}
          >
            <input class="mono" value={cron} onInput={(e) => setCron(e.target.value)} placeholder="0 6 * * 1" spellcheck={false} />
          </Field>
          <Field label="Timezone" hint="IANA name, e.g. Europe/Paris: due times are read in it.">
            <input list="run-timezones" value={tz} onInput={(e) => setTz(e.target.value)} />
            <datalist id="run-timezones">
              {zones.map((z) => (
                <option value={z} />
              ))}
            </datalist>
          </Field>
        </div>
        <div class="presets" aria-label="Common schedules">
          {PRESETS.map(([c, label]) => (
            <button type="button" class={"preset" + (cron.trim() === c ? " on" : "")} onClick={() => setCron(c)}>
              {label}
            </button>
          ))}
        </div>
        <div class="field">
          <span class="field-label">Parameters</span>
          <ParamRows rows={rows} onChange={setRows} />
        </div>
        <ErrorBox error={error} />
      </form>
    </Modal>
  );
}

function SchedulesTab({ names, filter, creating, setCreating }) {
  const [list, error, reload] = useLivePoll(
    () => all("/schedules"),
    () => false,
    [],
    1000,
    10000,
  );
  const [deleting, setDeleting] = useState(null);
  const shown = (list || []).filter((s) => !filter || s.notebook_id === filter);
  return (
    <>
      <ErrorBox error={error} />
      {list === undefined ? (
        !error && <Loading />
      ) : shown.length === 0 ? (
        <div class="panel">
          <Empty>
            No schedules{filter ? " for this notebook" : ""}.{" "}
            <button class="linkish" onClick={() => setCreating(true)}>
              Create one
            </button>{" "}
            to run a notebook on a cron expression.
          </Empty>
        </div>
      ) : (
        <div class="panel">
          <table class="table schedule-table">
            <thead>
              <tr>
                <th>Notebook</th>
                <th>Schedule</th>
                <th>Parameters</th>
                <th>Next run</th>
                <th>Last run</th>
                <th class="num">Started</th>
                <th class="num">Skipped</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/runs?notebook=${encodeURIComponent(s.notebook_id)}`}>{names[s.notebook_id] || s.notebook_id}</Link>
                  </td>
                  <td>
                    <code class="cron">{s.cron}</code> <span class="muted">{s.timezone}</span>
                    {describeCron(s.cron) && <div class="muted small">{describeCron(s.cron)}</div>}
                  </td>
                  <td>
                    <KeyValues data={s.parameters} empty={<span class="muted">–</span>} max={28} />
                  </td>
                  <td title={"Your time: " + datetime(s.next_at)}>
                    {zoned(s.next_at, s.timezone)}
                    <div class="muted small">{until(s.next_at)}</div>
                  </td>
                  <td>
                    {s.last_run_id ? (
                      <Link href={`/runs/${s.last_run_id}`} class="mono">
                        {shortId(s.last_run_id)}
                      </Link>
                    ) : (
                      <span class="muted">–</span>
                    )}
                  </td>
                  <td class="num">{s.runs_started}</td>
                  <td
                    class="num"
                    title={
                      s.last_skipped_at
                        ? "Last skipped " + datetime(s.last_skipped_at)
                        : "A due time is skipped while the last run still runs"
                    }
                  >
                    {s.runs_skipped}
                  </td>
                  <td class="num">
                    <Button
                      small
                      kind="danger"
                      aria-label={`Delete schedule ${s.cron} of ${names[s.notebook_id] || s.notebook_id}`}
                      onClick={() => setDeleting(s)}
                    >
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && <ScheduleDialog notebookId={filter} onClose={() => setCreating(false)} onCreated={reload} />}
      {deleting && (
        <Confirm
          title="Delete schedule?"
          message={`“${deleting.cron}” (${deleting.timezone}) of ${names[deleting.notebook_id] || deleting.notebook_id} stops starting runs. Its past runs stay.`}
          onConfirm={async () => {
            await del(`/schedules/${deleting.id}`);
            toast("Schedule deleted");
            reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </>
  );
}

function RunsHome({ tab, filter }) {
  const [notebooks, names, nbError] = useNotebooks();
  const [running, setRunning] = useState(false);
  const [creating, setCreating] = useState(false);
  const go = (t) => {
    const q = new URLSearchParams();
    if (t !== "runs") q.set("tab", t);
    if (filter) q.set("notebook", filter);
    navigate("/runs" + (q.toString() ? "?" + q : ""));
  };
  return (
    <Page
      title="Runs"
      subtitle="Notebooks run top to bottom in a fresh kernel, with parameters: from here, the REST API or a schedule."
      actions={
        <>
          <Button
            onClick={() => {
              if (tab !== "schedules") go("schedules");
              setCreating(true);
            }}
          >
            New schedule
          </Button>
          <Button kind="primary" onClick={() => setRunning(true)}>
            ▶ Run notebook
          </Button>
        </>
      }
      wide
    >
      <ErrorBox error={nbError} />
      <Tabs
        tabs={[
          ["runs", "Runs"],
          ["schedules", "Schedules"],
        ]}
        current={tab}
        onChange={go}
      />
      {tab === "schedules" ? (
        <SchedulesTab names={names} filter={filter} creating={creating} setCreating={setCreating} />
      ) : (
        <RunsTab notebooks={notebooks} names={names} filter={filter} onRun={() => setRunning(true)} />
      )}
      {running && <RunDialog notebookId={filter} onClose={() => setRunning(false)} />}
    </Page>
  );
}

// ---------------------------------------------------------------------------------------------
// One run: its record and the executed notebook, read-only.

/** Python source with light highlighting (lezer's Python grammar, class names tok-*). */
function Code({ source }) {
  const parts = useMemo(() => {
    if (source.length > 100_000) return [source];
    const out = [];
    try {
      highlightCode(
        source,
        pythonLanguage.parser.parse(source),
        classHighlighter,
        (text, cls) => out.push(cls ? <span class={cls}>{text}</span> : text),
        () => out.push("\n"),
      );
    } catch {
      return [source];
    }
    return out;
  }, [source]);
  return <pre class="run-code">{parts}</pre>;
}

function Cell({ cell, index, state }) {
  const source = joined(cell.source);
  if (cell.cell_type === "markdown") {
    return (
      <div class="run-cell run-cell-md" id={`cell-${index}`}>
        <div class="run-prompt" />
        <div class="run-cell-main">
          <Markdown source={source} />
        </div>
      </div>
    );
  }
  if (cell.cell_type !== "code") {
    return (
      <div class="run-cell" id={`cell-${index}`}>
        <div class="run-prompt" />
        <pre class="run-code run-raw">{source}</pre>
      </div>
    );
  }
  const tags = cell.metadata?.tags || [];
  const tag = tags.includes("injected-parameters") ? "injected parameters" : tags.includes("parameters") ? "parameters" : null;
  return (
    <div class={"run-cell" + (state ? " run-cell-" + state : "")} id={`cell-${index}`}>
      <div class="run-prompt" aria-hidden="true">
        {state === "running" ? <span class="spinner" /> : `[${cell.execution_count ?? " "}]`}
      </div>
      <div class="run-cell-main">
        {(tag || state) && (
          <div class="run-cell-tags">
            {tag && <span class="run-cell-tag">{tag}</span>}
            {state === "running" && <span class="run-cell-tag tag-run">running</span>}
            {state === "failed" && <span class="run-cell-tag tag-bad">failed here</span>}
            {state === "pending" && <span class="run-cell-tag">not run</span>}
            {state === "stopped" && (
              <span class="run-cell-tag tag-bad">stopped here ({cell.execution_count ? "finished" : "cut short"})</span>
            )}
          </div>
        )}
        <Code source={source} />
        <Outputs outputs={cell.outputs} />
      </div>
    </div>
  );
}

function ExecutedNotebook({ nb, run }) {
  const cells = nb.cells || [];
  const code = cells.map((c, i) => (c.cell_type === "code" ? i : -1)).filter((i) => i >= 0);
  const finished = !ACTIVE.has(run.status);
  const stateOf = (i) => {
    if (run.error && run.error.cell === i) return "failed";
    const k = code.indexOf(i);
    if (k < 0) return null;
    if (run.status === "running" && k === run.cells_done) return "running";
    // A run cancelled or timed out mid-cell keeps what that cell printed.
    if (finished && run.status !== "succeeded" && k === run.cells_done && (cells[i].outputs || []).length) return "stopped";
    if (k >= run.cells_done && (run.status === "queued" || run.status === "running" || (finished && run.status !== "succeeded")))
      return "pending";
    return null;
  };
  if (!cells.length) return <Empty>The notebook has no cells.</Empty>;
  return (
    <div class="run-nb" aria-label="Executed notebook">
      {cells.map((c, i) => (
        <Cell key={i} cell={c} index={i} state={stateOf(i)} />
      ))}
    </div>
  );
}

function Fact({ label, children }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function RunView({ id }) {
  const [names] = useNotebooks().slice(1);
  const [run, error, reload] = useLivePoll(
    () => get(`/runs/${encodeURIComponent(id)}`),
    (r) => ACTIVE.has(r.status),
    [id],
    1000,
    0,
  );
  const [nb, setNb] = useState(undefined);
  const [nbError, setNbError] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  const [again, setAgain] = useState(false);
  const [, tick] = useState(0);
  const active = run && ACTIVE.has(run.status);
  // The executed notebook changes as cells run (the running cell's output is saved every
  // second): fetch it on each step of progress, and every second while the run is active.
  useEffect(() => {
    if (!run || run.status === "queued") return;
    let gone = false;
    const load = () =>
      get(`/runs/${encodeURIComponent(id)}/notebook`)
        .then((n) => !gone && (setNb(n), setNbError(null)))
        .catch((e) => !gone && setNbError(e));
    load();
    const timer = ACTIVE.has(run.status) ? setInterval(load, 1000) : null;
    return () => {
      gone = true;
      if (timer) clearInterval(timer);
    };
  }, [id, run?.status, run?.cells_done]);
  // Keep the running duration moving.
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [active]);
  if (!run) {
    return (
      <Page title="Run">
        <ErrorBox error={error} />
        {!error && <Loading />}
      </Page>
    );
  }
  const nbName = names[run.notebook_id] || run.notebook_id;
  const e = run.error;
  return (
    <Page
      title={nbName}
      subtitle={
        <span class="run-sub">
          <Badge status={run.status} />
          <span>
            <Link href="/runs">Runs</Link> › run <span class="mono">{run.id}</span> · revision {run.notebook_revision}
          </span>
        </span>
      }
      wide
      actions={
        <>
          <Link class="btn btn-ghost" href={`/notebooks/${run.notebook_id}`}>
            Open notebook
          </Link>
          <a class="btn btn-secondary" href={`${API}/runs/${encodeURIComponent(run.id)}/notebook`} download={`run-${run.id}.ipynb`}>
            ⤓ Download .ipynb
          </a>
          <Button onClick={() => setAgain(true)}>Run again</Button>
          {active && (
            <Button kind="danger" onClick={() => setCancelling(true)}>
              Cancel run
            </Button>
          )}
        </>
      }
    >
      <ErrorBox error={error} />
      <div class="panel run-summary">
        {active && (
          <div class="run-progress">
            <div class="row">
              <strong>
                {run.status === "queued"
                  ? "Waiting for a kernel…"
                  : `Cell ${Math.min(run.cells_done + 1, run.cells_total)} of ${run.cells_total}`}
              </strong>
              <span class="spacer" />
              <span class="muted">
                {run.cells_done} of {run.cells_total} done
              </span>
            </div>
            <Progress run={run} />
          </div>
        )}
        <dl class="facts">
          <Fact label="Queued">
            <span title={datetime(run.created_at)}>{ago(run.created_at)}</span>
          </Fact>
          <Fact label="Started">{run.started_at ? <span title={ago(run.started_at)}>{datetime(run.started_at)}</span> : "–"}</Fact>
          <Fact label="Finished">{run.finished_at ? datetime(run.finished_at) : "–"}</Fact>
          <Fact label="Duration">{run.started_at ? duration(run.started_at, run.finished_at) : "–"}</Fact>
          <Fact label="Cells">
            {run.cells_done} / {run.cells_total}
          </Fact>
          <Fact label="Attempt">{run.attempt > 1 ? `${run.attempt} (the first lost its kernel or node)` : run.attempt}</Fact>
          <Fact label="Timeout">{run.timeout_s ? `${run.timeout_s} s` : "none"}</Fact>
        </dl>
        <div class="run-params">
          <span class="fact-label">Parameters</span>
          <KeyValues data={run.parameters} empty={<span class="muted">none: the notebook's defaults</span>} max={120} />
        </div>
      </div>
      {e && (
        <div class="run-error" role="alert">
          <div>
            <strong>{e.ename || "Error"}</strong>
            {e.evalue ? `: ${e.evalue}` : ""}
          </div>
          {e.cell !== null && e.cell !== undefined && (
            <button
              class="linkish"
              onClick={() => document.getElementById(`cell-${e.cell}`)?.scrollIntoView({ behavior: "smooth", block: "center" })}
            >
              in cell {e.cell + 1} — show it
            </button>
          )}
        </div>
      )}
      <h2 class="section-title">Executed notebook {active && <span class="muted small">(updates as cells finish)</span>}</h2>
      <ErrorBox error={nbError} />
      {run.status === "queued" ? (
        <div class="panel">
          <Empty>The run has not started yet.</Empty>
        </div>
      ) : nb === undefined ? (
        !nbError && <Loading />
      ) : (
        <ExecutedNotebook nb={nb} run={run} />
      )}
      {cancelling && (
        <Confirm
          title="Cancel this run?"
          message="The running cell is interrupted and the run ends as cancelled. Outputs so far stay."
          confirmLabel="Cancel run"
          onConfirm={async () => {
            await post(`/runs/${encodeURIComponent(run.id)}/cancel`);
            toast("Run cancelled");
            reload();
          }}
          onClose={() => setCancelling(false)}
        />
      )}
      {again && <RunDialog notebookId={run.notebook_id} parameters={run.parameters} onClose={() => setAgain(false)} />}
    </Page>
  );
}

export function RunsPage({ path }) {
  const { params } = useLocation();
  const m = match("/runs/:id", path);
  if (m) return <RunView key={m.id} id={m.id} />;
  return <RunsHome tab={params.get("tab") === "schedules" ? "schedules" : "runs"} filter={params.get("notebook") || ""} />;
}
