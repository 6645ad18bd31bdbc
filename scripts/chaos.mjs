#!/usr/bin/env node
// `npm run chaos -- <messages> [options]`: the chaos run (tests/bench/chaos.ts; options there).
// Holds the benchmarks' lock (.data/bench.lock) so it never runs beside `npm run bench` or another
// chaos run (both load the 2-core machine and would skew each other).
//
// Where the code comes from:
//   default       a snapshot of the working tree under /tmp (node_modules hard-linked), built there
//                 with `next build`: the app's build never touches this tree's .next (others may
//                 share it), and every worker restart of the run loads the same code even if
//                 someone edits the tree meanwhile
//   --in-place    this tree as it is; `next build` here first unless CHAOS_NO_BUILD=1 and a build
//                 exists (npm test uses this right after its e2e step built the app)
//   --commit <rev> the snapshot is that commit (git archive), not the working tree; the harness
//                 (tests/bench/, scripts/lib/private-services.*) is still this tree's
//   CHAOS_KEEP_TREE=1 keeps the snapshot; CHAOS_TREE=<that dir> runs it again without copy or build
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureDependencies, root, say } from "./lib/bootstrap.mjs";

const lock = path.join(root, ".data", "bench.lock");
mkdirSync(path.dirname(lock), { recursive: true });
try {
  writeFileSync(lock, String(process.pid), { flag: "wx" });
} catch {
  const other = Number(readFileSync(lock, "utf8"));
  let alive = false;
  try {
    process.kill(other, 0);
    alive = true;
  } catch {}
  if (alive) {
    console.error(`a benchmark or chaos run is running (pid ${other}); wait for it or stop it first`);
    process.exit(1);
  }
  writeFileSync(lock, String(process.pid));
}
let tree = root;
process.on("exit", () => {
  try {
    if (readFileSync(lock, "utf8") === String(process.pid)) unlinkSync(lock);
  } catch {}
  if (tree !== root && !process.env.CHAOS_KEEP_TREE) rmSync(tree, { recursive: true, force: true });
});
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => process.exit(130)); // the child gets the signal too (same process group)

ensureDependencies();
const args = process.argv.slice(2);
const inPlace = args.includes("--in-place");
const ci = args.indexOf("--commit");
const commit = ci >= 0 ? args[ci + 1] : undefined;
const rest = args.filter((a, i) => a !== "--in-place" && (ci < 0 || (i !== ci && i !== ci + 1)));
const git = (...a) => spawnSync("git", ["-C", root, ...a], { encoding: "utf8" }).stdout?.trim() ?? "";
const head = git("rev-parse", "HEAD");
// what the run measures, printed with its results
process.env.CHAOS_CODE = commit
  ? `commit ${git("rev-parse", commit)}`
  : `working tree (HEAD ${head}${git("status", "--porcelain", "--untracked-files=no") ? " + uncommitted changes" : ""})`;
const next = (dir) => path.join(dir, "node_modules", "next", "dist", "bin", "next");
const build = (dir) => {
  say(`building the app (next build) in ${dir}…`);
  const r = spawnSync(process.execPath, [next(dir), "build"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (r.status !== 0) {
    console.error("next build failed");
    process.exit(1);
  }
};
if (process.env.CHAOS_TREE) {
  tree = process.env.CHAOS_TREE; // a snapshot kept by an earlier run (CHAOS_KEEP_TREE=1), already built
  process.env.CHAOS_KEEP_TREE = "1";
  const made = path.join(tree, ".chaos-code");
  if (existsSync(made)) process.env.CHAOS_CODE = readFileSync(made, "utf8");
  say(`reusing the snapshot in ${tree} (${process.env.CHAOS_CODE})`);
} else if (inPlace) {
  if (!process.env.CHAOS_NO_BUILD || !existsSync(path.join(root, ".next", "BUILD_ID"))) build(root);
} else {
  tree = path.join("/tmp", `chaos-tree-${process.pid}`);
  rmSync(tree, { recursive: true, force: true });
  let r;
  if (commit) {
    // a commit exactly as committed (others' half-done edits in the tree left out)
    say(`snapshot of ${process.env.CHAOS_CODE} in ${tree}`);
    mkdirSync(tree, { recursive: true });
    r = spawnSync("sh", ["-c", `git -C '${root}' archive --format=tar '${commit}' | tar -C '${tree}' -xf -`], {
      stdio: "inherit",
    });
    if (r.status !== 0) process.exit(1);
    // the harness is this tree's (a commit from before it existed can be measured too)
    for (const f of ["tests/bench", "scripts/lib/private-services.mjs", "scripts/lib/private-services.d.mts"]) {
      spawnSync("cp", ["-a", path.join(root, f), path.dirname(path.join(tree, f))], { stdio: "inherit" });
    }
    // the generated Prisma client is not committed: this tree's, when the schema is the same
    if (spawnSync("git", ["-C", root, "diff", "--quiet", commit, "--", "prisma/schema.prisma"]).status === 0) {
      spawnSync("cp", ["-a", path.join(root, "lib", "generated"), path.join(tree, "lib", "generated")], {
        stdio: "inherit",
      });
    }
  } else {
    say(`snapshot of the working tree in ${tree}`);
    const ex = [
      "/.git",
      "/node_modules",
      "/.next",
      "/.data",
      "/tests/e2e/.output",
      "/.npm-ci.lock",
      "/tsconfig.tsbuildinfo",
    ].flatMap((e) => ["--exclude", e]);
    r = spawnSync("rsync", ["-a", ...ex, `${root}/`, `${tree}/`], { stdio: "inherit" });
    if (r.status !== 0)
      r = spawnSync(
        "sh",
        [
          "-c",
          `mkdir -p '${tree}' && tar -C '${root}' --exclude=./.git --exclude=./node_modules --exclude=./.next --exclude=./.data -cf - . | tar -C '${tree}' -xf -`,
        ],
        { stdio: "inherit" },
      );
    if (r.status !== 0) process.exit(1);
  }
  // hard links: seconds, no space; a copy where links are impossible (another filesystem)
  r = spawnSync("cp", ["-al", path.join(root, "node_modules"), path.join(tree, "node_modules")], { stdio: "inherit" });
  if (r.status !== 0)
    r = spawnSync("cp", ["-a", path.join(root, "node_modules"), path.join(tree, "node_modules")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(1);
  if (!existsSync(path.join(tree, "lib", "generated", "prisma", "client.ts"))) {
    r = spawnSync(process.execPath, [path.join(tree, "scripts", "prisma-generate.mjs")], {
      cwd: tree,
      stdio: "inherit",
    });
    if (r.status !== 0) process.exit(1);
  }
  build(tree);
  writeFileSync(path.join(tree, ".chaos-code"), process.env.CHAOS_CODE);
}
const r = spawnSync(process.execPath, ["--import", "tsx", path.join(tree, "tests", "bench", "chaos.ts"), ...rest], {
  cwd: tree,
  stdio: "inherit",
  env: process.env,
});
process.exit(r.status ?? 1);
