import { and, eq, sql } from 'drizzle-orm'
import { Liquid, type Template } from 'liquidjs'
import type { Channel } from '../channels/channel.ts'
import type { Db } from '../db/database.ts'
import { templates } from '../db/schema.ts'

/** The fields each channel's template has. Webhooks send the event itself, untemplated. */
export const TEMPLATE_FIELDS = {
  email: ['subject', 'text', 'html'],
  sms: ['text'],
  push: ['title', 'body'],
  in_app: ['title', 'body'],
} as const satisfies Partial<Record<Channel, readonly string[]>>

export type TemplatedChannel = keyof typeof TEMPLATE_FIELDS

/** Used when an event type has no template for a channel. */
const DEFAULTS: Record<TemplatedChannel, Record<string, string>> = {
  email: { subject: '{{ event.type }}', text: '{{ event.data | json }}' },
  sms: { text: '{{ event.type }}: {{ event.data | json }}' },
  push: { title: '{{ event.type }}', body: '{{ event.data | json }}' },
  in_app: { title: '{{ event.type }}', body: '{{ event.data | json }}' },
}

/** A digest lists its events; `items` holds them, oldest first. */
const DIGEST: Record<TemplatedChannel, Record<string, string>> = {
  email: {
    subject: '{{ items.size }} new {{ eventType }}',
    text: '{% for item in items %}- {{ item.type }}: {{ item.data | json }}\n{% endfor %}',
  },
  sms: { text: '{{ items.size }} new {{ eventType }}' },
  push: {
    title: '{{ items.size }} new {{ eventType }}',
    body: '{% for item in items %}{{ item.data | json }} {% endfor %}',
  },
  in_app: {
    title: '{{ items.size }} new {{ eventType }}',
    body: '{% for item in items %}{{ item.data | json }}\n{% endfor %}',
  },
}

/**
 * Templates per event type and channel, stored in SQLite and rendered with LiquidJS (the
 * language Novu uses): `{{ event.data.orderId }}`, `{{ subscriber.id }}`, filters, loops. Parsed
 * templates are cached per text. HTML is escaped only where the output is HTML (email `html`).
 */
export function createTemplates(db: Db, now: () => number = Date.now) {
  const liquid = new Liquid({ cache: 500, strictFilters: true })
  const htmlLiquid = new Liquid({ cache: 500, strictFilters: true, outputEscape: 'escape' })
  const parsed = new Map<string, Template[]>()

  // Every delivery looks its template up: compiled once on first use (see DeliveryLog).
  let lookup: ReturnType<typeof prepareLookup> | undefined
  function prepareLookup() {
    return db
      .select({ content: templates.content })
      .from(templates)
      .where(
        and(
          eq(templates.eventType, sql.placeholder('eventType')),
          eq(templates.channel, sql.placeholder('channel'))
        )
      )
      .prepare()
  }

  function compile(text: string, html: boolean): Template[] {
    const cacheKey = `${html ? 'h' : 't'}:${text}`
    let found = parsed.get(cacheKey)
    if (!found) {
      found = (html ? htmlLiquid : liquid).parse(text)
      if (parsed.size > 2000) parsed.clear()
      parsed.set(cacheKey, found)
    }
    return found
  }

  function renderAll(fields: Record<string, string>, context: object): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [field, text] of Object.entries(fields)) {
      const html = field === 'html'
      out[field] = (html ? htmlLiquid : liquid).renderSync(compile(text, html), context) as string
    }
    return out
  }

  return {
    put(eventType: string, channel: TemplatedChannel, content: Record<string, string>) {
      // Parse now: a template that does not compile is refused at the API, not at send time.
      for (const [field, text] of Object.entries(content)) compile(text, field === 'html')
      const values = { eventType, channel, content, updatedAt: now() }
      db.insert(templates)
        .values(values)
        .onConflictDoUpdate({
          target: [templates.eventType, templates.channel],
          set: { content, updatedAt: values.updatedAt },
        })
        .run()
    },
    get(eventType: string, channel: TemplatedChannel): Record<string, string> | undefined {
      return (lookup ??= prepareLookup()).get({ eventType, channel })?.content
    },
    render(
      eventType: string,
      channel: TemplatedChannel,
      context: { event: object; subscriber: object }
    ) {
      return renderAll(this.get(eventType, channel) ?? DEFAULTS[channel], context)
    },
    renderDigest(
      eventType: string,
      channel: TemplatedChannel,
      context: { eventType: string; items: object[]; subscriber: object }
    ) {
      return renderAll(this.get(`${eventType}#digest`, channel) ?? DIGEST[channel], context)
    },
  }
}

export type Templates = ReturnType<typeof createTemplates>
