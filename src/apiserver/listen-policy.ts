/**
 * Which listeners may take the bearer token over plain HTTP. On loopback, plain HTTP never leaves
 * the machine, so the API accepts the token on both protocols of its port (acictl's own local
 * client uses http://127.0.0.1). On any other address a token sent over plain HTTP crosses a
 * network in clear text, so such requests are refused and only HTTPS carries the token.
 */
import { isIP } from 'node:net';

/** Whether a listen host is a loopback address (127.0.0.0/8, ::1, an IPv4-mapped 127.x, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  const v4 = mapped ? mapped[1]! : h;
  if (isIP(v4) === 4) return v4.split('.')[0] === '127';
  if (isIP(h) === 6) return /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(h);
  return false; // a host name other than localhost, 0.0.0.0, ::, or any other address
}

/**
 * The URL a client on this machine uses for a server bound to `url`'s host: a wildcard bind
 * (0.0.0.0, ::) is reached through loopback, which the API's certificate names (it does not name
 * 0.0.0.0, so a kubeconfig pointing there would fail TLS verification).
 */
export function localClientUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.toString().replace(/\/$/, '');
}
