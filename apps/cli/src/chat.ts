import { clearLine, createInterface, cursorTo, moveCursor, type Interface } from 'node:readline'
import type { ChatClient, HistoryItem, RejectedEvent, TextEvent } from '@metadome/client'
import type { ChatTarget } from './chat-target.js'
import { describe } from './errors.js'
import { usernames } from './usernames.js'

// `metadome chat <user|group>`: recent history, then live messages, with
// typing indicators and read receipts, on readline. Incoming lines are printed
// above the prompt so that what the user is typing stays where it is. Without
// a terminal (stdin piped) it reads one message per line and leaves at the end
// of input, once every message was acknowledged.
//
// The socket opens before the chat is known (a group is found in the
// conversation list, which is asked over it): events that arrive meanwhile
// wait with the others until the history is on screen.

const HISTORY = 20
const TYPING_EVERY_MS = 3_000

function time (iso: string): string {
  const d = new Date(iso)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

export async function runChat (client: ChatClient, find: () => Promise<ChatTarget>): Promise<void> {
  let target: ChatTarget | undefined = undefined
  const here = (conversationId: string): boolean => conversationId === target?.conversationId
  const others = (userId: string): boolean => userId !== client.userId && target?.members.includes(userId) === true
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
  // Input is read once the chat is on screen: a line read before that would
  // have no one to send it (piped input arrives at once).
  let rl: Interface | undefined = undefined
  const print = (text: string): void => {
    if (tty && rl !== undefined) {
      cursorTo(process.stdout, 0)
      clearLine(process.stdout, 0)
    }
    process.stdout.write(`${text}\n`)
    if (tty) rl?.prompt(true)
  }
  const nameOf = (userId: string): string => userId === client.userId ? 'me' : target?.names.get(userId) ?? userId
  const show = (sentAt: string, senderId: string, text: string): void => { print(`[${time(sentAt)}] ${nameOf(senderId)}: ${text}`) }

  // Live events wait until the history is on screen, then skip what it showed.
  let live = false
  const early: Array<() => void> = []
  const shown = new Set<string>()
  let lastSentSeq = 0
  // By user: the last own message they were shown to have read, when they were last shown typing.
  const readShownFor = new Map<string, number>()
  const typingShownAt = new Map<string, number>()

  const onText = (e: TextEvent): void => {
    if (!here(e.conversationId) || shown.has(e.message.id)) return
    shown.add(e.message.id)
    show(e.message.sentAt, e.senderId, e.text)
    if (e.senderId !== client.userId) client.receipt(e.conversationId, e.message.seq, 'read')
  }
  client.on('text', (e) => { if (live) onText(e); else early.push(() => { onText(e) }) })
  const onRejected = (e: RejectedEvent): void => {
    if (!here(e.message.conversationId)) return
    print(`! a message from ${nameOf(e.message.senderId)} could not be opened (${e.code}): not shown`)
  }
  client.on('rejected', (e) => { if (live) onRejected(e); else early.push(() => { onRejected(e) }) })
  client.on('typing', (e) => {
    if (!here(e.conversationId) || !others(e.userId)) return
    if (Date.now() - (typingShownAt.get(e.userId) ?? 0) < TYPING_EVERY_MS) return
    typingShownAt.set(e.userId, Date.now())
    print(`… ${nameOf(e.userId)} is typing`)
  })
  client.on('receipt', (e) => {
    if (!here(e.conversationId) || !others(e.userId) || e.kind !== 'read') return
    if (e.seq >= lastSentSeq && lastSentSeq > (readShownFor.get(e.userId) ?? 0)) {
      readShownFor.set(e.userId, lastSentSeq)
      print(`✓ read by ${nameOf(e.userId)}`)
    }
  })
  client.on('keyChanged', (c) => {
    if (!others(c.userId)) return
    const name = nameOf(c.userId)
    print(`! ${name}'s account key changed: compare safety numbers with \`metadome verify ${name}\`, then \`metadome trust ${name}\``)
  })
  client.on('conversation', (c) => {
    // A group's members changed: whoever joined is named from now on.
    if (!here(c.id) || target === undefined) return
    target.members = c.members.filter((m) => m !== client.userId)
    void usernames(client, target.members, target.names)
  })
  let wasConnected = false
  client.on('disconnected', () => { if (wasConnected) print('(connection lost, reconnecting…)') })
  client.on('connected', () => {
    if (wasConnected) print('(reconnected)')
    wasConnected = true
  })

  await client.connect()
  target = await find()
  const { conversationId } = target
  const page = await client.history(conversationId, { limit: HISTORY })
  const items: HistoryItem[] = [...page.items].reverse()
  if (page.hasMore) print('(older messages not shown)')
  let newestFromThem = 0
  for (const item of items) {
    shown.add(item.message.id)
    if (item.text !== undefined) show(item.message.sentAt, item.senderId, item.text)
    else if (item.code === 'not_a_recipient') print(`[${time(item.message.sentAt)}] ${nameOf(item.senderId)}: (sealed before this device was signed in)`)
    else if (item.code !== undefined) print(`[${time(item.message.sentAt)}] ${nameOf(item.senderId)}: (could not be opened: ${item.code})`)
    else print(`[${time(item.message.sentAt)}] me: (sent from this device before it kept texts)`)
    if (item.senderId !== client.userId) newestFromThem = Math.max(newestFromThem, item.message.seq)
  }
  if (newestFromThem > 0) client.receipt(conversationId, newestFromThem, 'read')
  live = true
  for (const run of early.splice(0)) run()
  const chat = target
  const sendTo = chat.other === undefined ? { conversationId } : { to: chat.other.id }
  const who = chat.other === undefined ? {} : { who: chat.other.username }
  const members = chat.members.length + 1
  print(chat.kind === 'group'
    ? `— chatting in ${chat.label} (${members} member${members === 1 ? '' : 's'}; /quit or Ctrl-D to leave)`
    : `— chatting with ${chat.label} (/quit or Ctrl-D to leave)`)
  const lines = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: '> ' })
  rl = lines
  lines.prompt()

  let lastTyping = 0
  if (tty) {
    process.stdin.on('keypress', () => {
      if (Date.now() - lastTyping < TYPING_EVERY_MS) return
      lastTyping = Date.now()
      client.typing(conversationId)
    })
  }

  let sending: Promise<void> = Promise.resolve()
  await new Promise<void>((resolve) => {
    lines.on('line', (input) => {
      const text = input.trim()
      if (text === '/quit') {
        lines.close()
        return
      }
      if (tty) {
        // Replace the echoed input line with the formatted one once acked.
        moveCursor(process.stdout, 0, -1)
        clearLine(process.stdout, 0)
      }
      if (text === '') {
        lines.prompt()
        return
      }
      lastTyping = 0
      sending = sending.then(async () => {
        try {
          const ack = await client.sendText(sendTo, text)
          lastSentSeq = ack.seq
          show(ack.sentAt, client.userId, text)
        } catch (err) {
          print(`! not sent: ${describe(err, who)}`)
        }
      })
    })
    lines.on('SIGINT', () => { lines.close() })
    lines.on('close', () => { resolve() })
  })
  await sending
}
