import { useState } from "preact/hooks";
import { login } from "../session.js";
import { Button } from "../components/controls.jsx";
import { ErrorBox } from "../components/page.jsx";
import favicon from "../favicon.svg";

export function LoginPage() {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(user, password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={submit}>
        <div class="login-brand">
          <span class="brand-mark big" dangerouslySetInnerHTML={{ __html: favicon }} />
          <h1>Suricate</h1>
        </div>
        <p class="subtitle">Data, notebooks, models and live streams.</p>
        <label class="field">
          <span class="field-label">User</span>
          <input name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.target.value)} required autofocus />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <ErrorBox error={error} />
        <Button kind="primary" type="submit" busy={busy}>
          Log in
        </Button>
      </form>
    </div>
  );
}
