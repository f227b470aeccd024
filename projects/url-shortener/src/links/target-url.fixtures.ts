/**
 * Test corpora for target validation (U1), shared by the unit test and the API test.
 * The policy they assume: own host `sho.rt`, deny list `bit.ly`, `evil.example`.
 */
export const CORPUS_POLICY = { ownHosts: ['sho.rt'], denyHosts: ['bit.ly', 'evil.example'] }

const schemes = [
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  'JaVaScRiPt:alert(document.cookie)',
  'javascript://example.com/%0Aalert(1)',
  'data:text/html,<script>alert(1)</script>',
  'DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'FILE://localhost/etc/passwd',
  'ftp://example.com/file',
  'mailto:someone@example.com',
  'tel:+15555550100',
  'blob:https://example.com/uuid',
  'about:blank',
  'chrome://settings',
  'ws://example.com/socket',
  'wss://example.com/socket',
  'gopher://example.com',
  'intent://scan/#Intent;scheme=zxing;end',
  'view-source:https://example.com',
  'httpx://example.com',
  'http+unix://%2Fvar%2Frun%2Fdocker.sock/',
]

const invisible = [
  ' https://example.com',
  'https://example.com ',
  '\thttps://example.com',
  'java\tscript:alert(1)',
  'java\nscript:alert(1)',
  'java\rscript:alert(1)',
  'https://exa mple.com',
  'https://example.com/\u0000',
  'https://example.com/a\u0007b',
  'https://example.com/\u001f',
  'https://example.com/\u007f',
  'https://example.com/\u0085',
  'https://example.com/\u200b',
  'https://example.com/\u202egnp.exe',
  'https://example.com/\u2028',
  'https://example.com/\u00a0',
  'https://example.com/\ufeff',
  '\u0000javascript:alert(1)',
  'https://example.com/%0d%0aSet-Cookie:x=1\r\n',
]

const malformed = [
  '',
  '//evil.example.net/path',
  '///evil.example.net',
  '\\\\evil.example.net',
  '/just/a/path',
  'example.com',
  'www.example.com/page',
  'http:evil.example.net',
  'http:/evil.example.net',
  'http:\\\\evil.example.net',
  'https:\\/evil.example.net',
  'https://example.com\\@good.example',
  'http://',
  'https://',
  'http:///path',
  'http://:80/',
  'http://[::1/',
  'http://exa<mple.com/',
  'http://example.com:99999/',
  'http://example.com:port/',
  'https://%/',
  'https://a..b..%zz/',
  'http://user:pass@example.com/',
  'https://bank.example@phish.example.net/login',
  'https://:@example.com/',
]

const hosts = [
  'https://sho.rt/abc',
  'https://SHO.RT/abc',
  'https://sho.rt./abc',
  'http://sho.rt:8080/abc',
  'https://www.sho.rt/abc',
  'https://bit.ly/3abcd',
  'https://BIT.LY/3abcd',
  'https://evil.example/',
  'https://login.evil.example/',
  'https://evil.example.:443/',
]

const tooLong = [
  `https://example.com/${'a'.repeat(2030)}`,
  `https://example.com/?q=${'é'.repeat(800)}`,
]

/** Every one of these must be refused with 400 naming `url`. */
export const HOSTILE_TARGETS: readonly string[] = [
  ...schemes,
  ...invisible,
  ...malformed,
  ...hosts,
  ...tooLong,
]

/** Every one of these must be accepted (IDN, ports, query, fragment, IPv4/IPv6 literals). */
export const VALID_TARGETS: readonly string[] = [
  'https://example.com',
  'http://example.com/',
  'HTTPS://EXAMPLE.COM/UPPER/Case',
  'https://example.com:8443/path',
  'http://example.com:80/',
  'https://sub.domain.example.co.uk/a/b/c.html',
  'https://example.com/search?q=short+links&lang=en',
  'https://example.com/page#section-2',
  'https://example.com/?utm_source=x&utm_medium=y#top',
  'https://münchen.example/straße',
  'https://xn--mnchen-3ya.example/',
  'https://例え.テスト/パス?キー=値',
  'https://example.com/a%20b%2Fc',
  'https://example.com/~user/',
  'https://example.com/path;param=1',
  'http://192.0.2.10/',
  'http://192.0.2.10:8080/status',
  'https://[2001:db8::1]/',
  'https://[2001:db8::1]:8443/x?y=z',
  'https://example.com/emoji/🙂',
  'https://shortish.example/sho.rt',
  'https://example.com/?redirect=https%3A%2F%2Fsho.rt',
  `https://example.com/${'a'.repeat(2000)}`,
  'https://notbit.ly/',
]
