/** The five ways a notification reaches someone. */
export const CHANNELS = ['email', 'sms', 'push', 'webhook', 'in_app'] as const
export type Channel = (typeof CHANNELS)[number]

/** Channels that interrupt a person, and so wait out their quiet hours. */
export const INTERRUPTIVE: ReadonlySet<Channel> = new Set(['email', 'sms', 'push'])

/** Channels whose messages can be gathered into a digest. */
export const DIGESTIBLE: ReadonlySet<Channel> = new Set(['email', 'sms', 'push', 'in_app'])
