// Gives the site's bundle files content-hashed names and precompressed copies:
//   node hash-assets.mjs SITE_DIR PKG_DIR OUTPUT_NAME
// The bundle is PKG_DIR/OUTPUT_NAME.{js,wasm,css} plus, when the front end has `#[lazy]` views,
// wasm-split's loader `__wasm_split.js` and its chunks (`*.wasm`). The JS, the loader and the
// chunks name one another (the main JS imports the loader, the loader imports the main JS and
// fetches the chunks), so they share one build hash: the sha256 of all their bytes. The CSS
// names nothing and keeps a hash of its own. Each file gets a .br (brotli, quality 11) and a .gz
// (gzip -9) beside it, and SITE_DIR/hash.txt says which hash each kind has ("js: <hash>" lines,
// the format leptos's HydrationScripts reads). The server serves PKG_DIR as immutable and renders
// the HTML from hash.txt, so a page always names the files of the build it was rendered from.
// Node's own zlib: nothing to install.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const [siteDir, pkgDir, name] = process.argv.slice(2);
if (!siteDir || !pkgDir || !name) {
  console.error("usage: hash-assets.mjs SITE_DIR PKG_DIR OUTPUT_NAME");
  process.exit(2);
}
const LOADER = "__wasm_split.js";

// 16 hex digits of sha256: the name changes whenever a byte does.
const hashOf = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
};
const hashed = (file, hash) => file.replace(/\.(js|wasm|css)$/, `.${hash}.$1`);

const files = readdirSync(pkgDir).filter((f) => /\.(js|wasm)$/.test(f)).sort();
const build = hashOf(...files.flatMap((f) => [f, "\0", readFileSync(join(pkgDir, f))]));

// References by name, rewritten before the files are renamed: imports (`from "./x.js"`) and
// fetches (`URL("./x.wasm"`). Not the keys of the WASM imports object, which must stay the module
// names compiled into the WASM (`"./__wasm_split.js": import1`).
const rename = new Map(files.map((f) => [f, hashed(f, build)]));
const rewrite = (text) =>
  text.replace(/(from\s*|URL\(\s*)(["'])\.\/([^"'\/]+\.(?:js|wasm))\2/g, (whole, lead, q, ref) =>
    rename.has(ref) ? `${lead}${q}./${rename.get(ref)}${q}` : whole,
  );
for (const f of files.filter((f) => f.endsWith(".js"))) {
  const path = join(pkgDir, f);
  writeFileSync(path, rewrite(readFileSync(path, "utf8")));
}

const css = `${name}.css`;
const cssHash = hashOf(readFileSync(join(pkgDir, css)));
rename.set(css, hashed(css, cssHash));

for (const [plain, named] of rename) {
  const bytes = readFileSync(join(pkgDir, plain));
  renameSync(join(pkgDir, plain), join(pkgDir, named));
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(join(pkgDir, `${named}.br`), br);
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(join(pkgDir, `${named}.gz`), gz);
  console.error(`${plain}: ${bytes.length} bytes, gzip ${gz.length}, brotli ${br.length}`);
}

const lines = [`js: ${build}`, `wasm: ${build}`, `css: ${cssHash}`];
// leptos looks for the loader as `__wasm_split.<split>.js`.
if (rename.has(LOADER)) lines.push(`split: ${build}`);
writeFileSync(join(siteDir, "hash.txt"), lines.join("\n") + "\n");
