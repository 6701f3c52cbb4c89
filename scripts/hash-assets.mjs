// Gives the site's bundle files content-hashed names and precompressed copies:
//   node hash-assets.mjs SITE_DIR PKG_DIR OUTPUT_NAME
// PKG_DIR/OUTPUT_NAME.{js,wasm,css} become OUTPUT_NAME.<hash>.{js,wasm,css}, each with a
// .br (brotli, quality 11) and a .gz (gzip -9) beside it, and SITE_DIR/hash.txt says which
// hash each kind has ("js: <hash>" lines, the format leptos's HydrationScripts reads). The
// server serves PKG_DIR as immutable and renders the HTML from hash.txt, so a page always
// names the files of the build it was rendered from. Node's own zlib: nothing to install.
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const [siteDir, pkgDir, name] = process.argv.slice(2);
if (!siteDir || !pkgDir || !name) {
  console.error("usage: hash-assets.mjs SITE_DIR PKG_DIR OUTPUT_NAME");
  process.exit(2);
}

const lines = [];
for (const ext of ["js", "wasm", "css"]) {
  const plain = join(pkgDir, `${name}.${ext}`);
  const bytes = readFileSync(plain);
  // 16 hex digits of sha256: the name changes whenever a byte does.
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const hashed = join(pkgDir, `${name}.${hash}.${ext}`);
  renameSync(plain, hashed);
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${hashed}.br`, br);
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(`${hashed}.gz`, gz);
  lines.push(`${ext}: ${hash}`);
  console.error(`${ext}: ${bytes.length} bytes, gzip ${gz.length}, brotli ${br.length}`);
}
writeFileSync(join(siteDir, "hash.txt"), lines.join("\n") + "\n");
