#!/bin/sh
# Runs the image's command (node apps/<app>/dist/server.js by default) with
# exec, so node is PID 1 and receives SIGTERM itself to drain.
set -eu

# libuv sizes its thread pool once, from UV_THREADPOOL_SIZE, before any of our
# code runs; auth-api hashes passwords with bcrypt on that pool and wants
# cores + 4 threads (see apps/auth-api/src/lib/thread-pool.ts). Node computes
# the cores the same way the app does (availableParallelism), so the two agree.
if [ -z "${UV_THREADPOOL_SIZE:-}" ]; then
  UV_THREADPOOL_SIZE=$(node -p 'require("node:os").availableParallelism() + 4')
  export UV_THREADPOOL_SIZE
fi

exec "$@"
