// Copies, byte for byte, the files strawberry's GraphiQL page loads from a CDN into
// w4r/web/static/graphiql/<package>@<version>/<path>, with each package's licence, so that
// the app serves them itself (w4r/web/graphiql.py rewrites the page's addresses).
//
// FILES lists what strawberry's template (strawberry/static/graphiql.html) references, with
// its integrity attributes: the build fails if an installed package has another version or
// a file another hash. When strawberry changes its template, update FILES and the exact
// versions in package.json, then run scripts/build-web.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FILES = [
  ["react", "18.2.0", "umd/react.production.min.js",
    "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"],
  ["react-dom", "18.2.0", "umd/react-dom.production.min.js",
    "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"],
  ["js-cookie", "3.0.5", "dist/js.cookie.min.js",
    "sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN"],
  ["graphiql", "3.8.3", "graphiql.min.css",
    "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"],
  ["graphiql", "3.8.3", "graphiql.min.js",
    "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"],
  ["@graphiql/plugin-explorer", "1.0.2", "dist/style.css",
    "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"],
  ["@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js",
    "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"],
];
const LICENCE_NAMES = ["LICENSE", "LICENSE.md", "LICENSE.txt"];

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const output = join(here, "..", "..", "w4r", "web", "static", "graphiql");

function fail(message) {
  console.error(`build-graphiql: ${message}`);
  process.exit(1);
}

rmSync(output, { recursive: true, force: true });
const packages = new Set();
for (const [name, version, path, integrity] of FILES) {
  const packageDir = join(modules, name);
  const installed = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
  if (installed !== version) {
    fail(`${name} ${installed} is installed, the page needs ${version}: pin it in package.json`);
  }
  const source = join(packageDir, path);
  const digest = "sha384-" + createHash("sha384").update(readFileSync(source)).digest("base64");
  if (digest !== integrity) {
    fail(`${name}@${version}/${path} hashes to ${digest}, the page's integrity is ${integrity}`);
  }
  const target = join(output, `${name}@${version}`, path);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  packages.add(`${name}@${version}`);
}
// Each package's licence: its LICENSE file, or its package.json (which names the licence)
// when the package ships none.
for (const spec of packages) {
  const name = spec.slice(0, spec.lastIndexOf("@"));
  const licence = LICENCE_NAMES.find((file) => existsSync(join(modules, name, file)));
  const file = licence ?? "package.json";
  copyFileSync(join(modules, name, file), join(output, spec, file));
}
console.log(`build-graphiql: ${FILES.length} files of ${packages.size} packages in ${output}`);
