/**
 * The orders service as a process: charges one order through billing's client and prints the
 * dispatch id. Built with tsc and run with plain node (`npm run build && npm start`); it needs
 * DISPATCH_API_URL, DISPATCH_API_KEY and BILLING_ENDPOINT_URL (`eval "$(npx dispatch env)"` sets the
 * first two).
 */
import { checkout } from './checkout.js'

const [customer = '42', amount = '500'] = process.argv.slice(2)
const id = await checkout(customer, Number(amount))
console.log(id)
