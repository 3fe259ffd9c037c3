/**
 * The V8 flags message-writer runs with: deploy/Dockerfile sets them in
 * NODE_OPTIONS for its image (scripts/test/deploy.test.ts checks they agree),
 * and the benches start the writer with them, so they measure what deploys
 * run. A 64 MiB semi-space: a batch's messages live until its commit, through
 * several scavenges of the default 16 MiB young generation, and were promoted
 * and collected again in the old one (GC was 17 % of the writer's CPU). With
 * it the writer spent 18.7-19.5 µs of CPU per row instead of 23.7-24.6.
 */
export const WRITER_NODE_ARGS = ['--max-semi-space-size=64']
