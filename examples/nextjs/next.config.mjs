// The generated route table imports its modules as ESM TypeScript does (`./greet.js` for greet.ts).
// Turbopack cannot map those yet, so the example builds with webpack (`next build --webpack`),
// whose `extensionAlias` does.
export default {
  webpack: (config) => {
    config.resolve.extensionAlias = { '.js': ['.ts', '.tsx', '.js'] }
    return config
  },
}
