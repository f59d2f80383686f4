export function greeting(name: string): string {
  const clean = name.replace(/[^\p{L}\p{N} _-]/gu, "").slice(0, 40) || "stranger";
  return `Hello, ${clean}!\n`;
}
