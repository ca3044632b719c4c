// Start the official Node.js tus server (@tus/server with @tus/file-store) on a loopback port.
//
//   node tus_node_server.mjs --modules <npm prefix> --dir <upload dir> [--port 0] [--path /files]
//
// The npm packages are not installed next to this script: the interop session runs
// `npm ci --prefix <cache>` and passes that prefix as --modules, so they are resolved from
// there. Once listening, one JSON line {"url": "http://127.0.0.1:<port>/files"} goes to stdout;
// SIGTERM or SIGINT closes the server and exits 0.
import { createRequire } from 'node:module'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    path: { type: 'string', default: '/files' },
  },
})
if (!values.modules || !values.dir) {
  process.stderr.write('usage: tus_node_server.mjs --modules <npm prefix> --dir <upload dir>\n')
  process.exit(2)
}

// Resolve a package the way `import` would from inside the npm prefix.
const requireFromPrefix = createRequire(path.join(path.resolve(values.modules), 'index.js'))
const load = (name) => import(pathToFileURL(requireFromPrefix.resolve(name)).href)

const { Server } = await load('@tus/server')
const { FileStore } = await load('@tus/file-store')

const tus = new Server({
  path: values.path,
  datastore: new FileStore({ directory: path.resolve(values.dir) }),
})
const http = tus.listen({ host: '127.0.0.1', port: Number(values.port) })

http.on('listening', () => {
  const { port } = http.address()
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}${values.path}` })}\n`)
})
http.on('error', (error) => {
  process.stderr.write(`tus_node_server: ${error.stack ?? error}\n`)
  process.exit(1)
})

const stop = () => {
  http.close(() => process.exit(0))
  // Idle keep-alive sockets would hold close() open; drop them.
  http.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
