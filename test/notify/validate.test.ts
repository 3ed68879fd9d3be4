/**
 * spec.notify in manifests: the schema, the semantic checks and the secret rules. A literal secret
 * (webhook `secret`, SMTP `password`) is an error at its FILE:LINE, naming the field to use
 * instead and never echoing the value.
 */
import { formatDiagnostic, validateText } from '../../src/manifest/validate';
import { checkSecretRefs } from '../../src/controller/admission';
import { SecretAccess } from '../../src/aci/secret-access';

const head = `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: notified
spec:
  schedule: "0 2 * * *"
`;
const tail = `  template:
    resourceGroup: rg
    location: eastus
    containers:
      - name: main
        image: busybox:1.36
        resources: {requests: {cpu: 1, memoryInGB: 1}}
`;
const errorsOf = (notify: string) => validateText(head + notify + tail, 'jobs/notified.yaml', { cache: false }).diagnostics.filter((d) => d.severity === 'error');

describe('spec.notify validation', () => {
  it('a webhook and an e-mail target with secret references are valid', () => {
    const errs = errorsOf(`  notify:
    - name: ops
      on: [failure, retry, missed, recovery, invalid]
      webhook:
        url: https://hooks.example.com/acictl
        secretFrom: {env: ACICTL_SECRET_HOOK}
        timeout: 5s
    - email:
        host: smtp.example.com
        port: 587
        tls: starttls
        from: acictl@example.com
        to: [oncall@example.com]
        username: acictl
        passwordFrom: {file: /run/secrets/smtp}
`);
    expect(errs.map(formatDiagnostic)).toEqual([]);
  });

  it('a literal webhook secret is an error at its line, naming secretFrom, without the value', () => {
    const value = 'hunter2-literal-hook-secret';
    const errs = errorsOf(`  notify:
    - webhook:
        url: https://hooks.example.com/x
        secret: ${value}
`);
    expect(errs).toHaveLength(2); // the literal field, and secretFrom missing
    const lit = errs.find((d) => d.pointer === '/spec/notify/0/webhook/secret')!;
    expect(lit.line).toBe(10);
    expect(lit.message).toMatch(/literal secrets are not allowed; use secretFrom/);
    expect(errs.map(formatDiagnostic).join('\n')).not.toContain(value);
    expect(formatDiagnostic(lit)).toMatch(/^jobs\/notified\.yaml:10:9: error: /);
  });

  it('a literal SMTP password is an error at its line, naming passwordFrom, without the value', () => {
    const value = 'smtp-literal-password-42';
    const errs = errorsOf(`  notify:
    - email:
        host: smtp.example.com
        from: a@example.com
        to: [b@example.com]
        username: u
        password: ${value}
`);
    const lit = errs.find((d) => d.pointer === '/spec/notify/0/email/password')!;
    expect(lit.line).toBe(13);
    expect(lit.message).toMatch(/literal secrets are not allowed; use passwordFrom/);
    expect(errs.map(formatDiagnostic).join('\n')).not.toContain(value);
  });

  it('exactly one kind per target, unique names, credentials in pairs, known events, http(s) URLs', () => {
    const errs = errorsOf(`  notify:
    - on: [failure]
    - webhook: {url: "ftp://x", secretFrom: {env: ACICTL_SECRET_A}}
      email: {host: h, from: a@b, to: [c@d]}
    - name: dup
      webhook: {url: "http://a", secretFrom: {env: ACICTL_SECRET_A}, timeout: 0s}
    - name: dup
      on: [failure, exploded]
      email: {host: h, from: a@b, to: [c@d], username: u}
`).map((d) => `${d.pointer}: ${d.message}`);
    expect(errs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/spec\/notify\/0: a notify target sets exactly one of webhook, email \(found none\)/),
        expect.stringMatching(/^\/spec\/notify\/1: .*exactly one of webhook, email \(found webhook, email\)/),
        expect.stringMatching(/^\/spec\/notify\/1\/webhook\/url: /),
        expect.stringMatching(/^\/spec\/notify\/2\/webhook\/timeout: timeout must be longer than 0/),
        expect.stringMatching(/^\/spec\/notify\/3\/name: duplicate notify target name "dup"/),
        expect.stringMatching(/^\/spec\/notify\/3\/on\/1: must be one of/),
        expect.stringMatching(/^\/spec\/notify\/3\/email: an SMTP username needs passwordFrom/),
      ]),
    );
  });

  it('notification secret references follow the secret-source rules (admission)', () => {
    const access = new SecretAccess({ env: {} });
    const job = {
      apiVersion: 'acictl.dev/v1' as const,
      kind: 'ContainerJob' as const,
      metadata: { name: 'n' },
      spec: {
        notify: [{ webhook: { url: 'http://x', secretFrom: { env: 'HOME' } } }, { email: { host: 'h', from: 'a@b', to: ['c@d'], username: 'u', passwordFrom: { env: 'ACICTL_SECRET_SMTP' } } }],
        template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] },
      },
    };
    const problems = checkSecretRefs(job, access);
    expect(problems.map((p) => p.pointer)).toEqual(['/spec/notify/0/webhook/secretFrom']);
    expect(problems[0].message).toMatch(/secret reference refused/);
  });
});

test('the example of docs/manifest.md#notifications validates', () => {
  const doc = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../docs/manifest.md'), 'utf8') as string;
  const section = doc.slice(doc.indexOf('## Notifications'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1];
  expect(yaml).toContain('notify:');
  const text = head + yaml.replace(/^spec:\n/, '') + tail;
  const errs = validateText(text, 'docs/manifest.md', { cache: false }).diagnostics.filter((d) => d.severity === 'error');
  expect(errs.map(formatDiagnostic)).toEqual([]);
});
