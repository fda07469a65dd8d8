// Builds the dashboard page into dist/dashboard-ui, which src/dashboard/server.ts serves. Relative asset
// URLs (base './') so the page works under any path; no CDN, everything is bundled.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard-ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Cytoscape and its layout are most of the bundle; they are served from loopback, so the size is no concern.
    chunkSizeWarningLimit: 2000,
    sourcemap: true,
  },
});
