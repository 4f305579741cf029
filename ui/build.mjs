// Build the web UI into the Python package: src/suricate/server/web/assets/{app.js,app.css,favicon.svg}.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("../src/suricate/server/web/assets/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
copyFileSync(new URL("src/favicon.svg", import.meta.url), out + "favicon.svg");

const options = {
  entryPoints: { app: "src/main.jsx" },
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !process.argv.includes("--watch"),
  sourcemap: true,
  outdir: out,
  jsx: "automatic",
  jsxImportSource: "preact",
  loader: { ".svg": "text" },
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
