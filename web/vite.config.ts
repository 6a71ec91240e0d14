/// <reference types="vitest/config" />
// One IIFE bundle with fixed names: dist/app.js and dist/app.css, loaded by
// the console shell (/ui/assets/…) and inlined into report files by Go.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    minify: "esbuild",
    sourcemap: false,
    cssCodeSplit: false,
    reportCompressedSize: false,
    copyPublicDir: false,
    lib: {
      entry: "src/main.ts",
      name: "Barrage",
      formats: ["iife"],
      fileName: () => "app.js",
      cssFileName: "app",
    },
    rollupOptions: {
      output: { inlineDynamicImports: true },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
