import { describe, expect, it } from 'vitest'
import { renderPreviewPage } from './preview-page.ts'

describe('renderPreviewPage', () => {
  it('when the target holds markup characters, escapes them in text and attribute', async () => {
    const target = `https://example.com/"><script>alert('x')</script>&a=1`

    const page = String(await renderPreviewPage({ shortUrl: 'https://sho.rt/abc', target }))

    expect(page).not.toContain('<script>')
    expect(page).toContain(
      'href="https://example.com/&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;a=1"'
    )
    expect(page).toContain(
      '<p class="target" id="target">https://example.com/&quot;&gt;&lt;script&gt;'
    )
  })

  it('when rendered, names the short link and the target host', async () => {
    const page = String(
      await renderPreviewPage({ shortUrl: 'https://sho.rt/abc', target: 'https://example.com/x' })
    )

    expect(page).toContain('<h1>This short link goes to example.com</h1>')
    expect(page).toContain('<code>https://sho.rt/abc</code>')
  })
})
