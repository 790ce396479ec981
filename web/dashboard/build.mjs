// Builds the dashboard into w4r/web/static/dashboard/ (emptied first): one minified script,
// one stylesheet, the icon and the licences of the libraries bundled into the script. No hashes in the file names and no timestamps in the files,
// so the same sources always give the same bytes (scripts/build-web --check relies on it).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "w4r", "web", "static", "dashboard");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  absWorkingDir: here,
  entryPoints: { dashboard: "src/main.js" },
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
copyFileSync(join(here, "src", "icon.svg"), join(out, "icon.svg"));

// The bundled libraries' licences (both MIT), which travel with their code.
const bundled = [
  ["uplot", "LICENSE"],
  ["graphql-ws", "LICENSE.md"],
];
const notices = bundled.map(([name, file]) => {
  const version = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
  const text = readFileSync(join(here, "node_modules", name, file), "utf8").trim();
  return `${name} ${version}\n\n${text}\n`;
});
writeFileSync(join(out, "THIRD-PARTY-LICENSES.txt"), notices.join("\n----\n\n"));
