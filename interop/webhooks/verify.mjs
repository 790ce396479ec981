// The receiver's side of a w4r webhook, exactly as docs/webhooks.md shows it: the test
// suite feeds it requests a real dispatcher sent (tests/webhooks/test_delivery.py).
//
// stdin: {"secret": "...", "headers": {lower-case name: value}, "body": "<base64>"}
// stdout: "true" or "false"
import { createHmac, timingSafeEqual } from "node:crypto";

const TOLERANCE_SECONDS = 300;

// headers: lower-case names (as Node gives them); body: the raw body as a Buffer.
export function verify(secret, headers, body) {
  const timestamp = headers["w4r-webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(
    createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex"),
  );
  return headers["w4r-webhook-signature"]
    .split(" ")
    .filter((entry) => entry.startsWith("v1="))
    .map((entry) => Buffer.from(entry.slice(3)))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
process.stdout.write(String(verify(secret, headers, Buffer.from(body, "base64"))));
