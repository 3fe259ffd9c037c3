import { clearLine, createInterface, cursorTo, moveCursor } from 'node:readline'
import type { ChatClient, HistoryItem, TextEvent } from '@metadome/client'
import type { User } from '@metadome/contracts'
import { describe } from './errors.js'

// `metadome chat <user>`: recent history, then live messages, with typing
// indicators and read receipts, on readline. Incoming lines are printed above
// the prompt so that what the user is typing stays where it is. Without a
// terminal (stdin piped) it reads one message per line and leaves at the end
// of input, once every message was acknowledged.

const HISTORY = 20
const TYPING_EVERY_MS = 3_000

function time (iso: string): string {
  const d = new Date(iso)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

export async function runChat (client: ChatClient, other: User): Promise<void> {
  const conversationId = client.directConversationId(other.id)
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: '> ' })
  const print = (text: string): void => {
    if (tty) {
      cursorTo(process.stdout, 0)
      clearLine(process.stdout, 0)
    }
    process.stdout.write(`${text}\n`)
    if (tty) rl.prompt(true)
  }
  const nameOf = (userId: string): string => userId === client.userId ? 'me' : userId === other.id ? other.username : userId
  const show = (sentAt: string, senderId: string, text: string): void => { print(`[${time(sentAt)}] ${nameOf(senderId)}: ${text}`) }

  // Live events wait until the history is on screen, then skip what it showed.
  let live = false
  const early: Array<() => void> = []
  const shown = new Set<string>()
  let lastSentSeq = 0
  let readShownFor = 0
  let typingShownAt = 0

  const onText = (e: TextEvent): void => {
    if (e.conversationId !== conversationId || shown.has(e.message.id)) return
    shown.add(e.message.id)
    show(e.message.sentAt, e.senderId, e.text)
    if (e.senderId !== client.userId) client.receipt(conversationId, e.message.seq, 'read')
  }
  client.on('text', (e) => { if (live) onText(e); else early.push(() => { onText(e) }) })
  client.on('rejected', (e) => {
    if (e.message.conversationId !== conversationId) return
    print(`! a message from ${nameOf(e.message.senderId)} could not be opened (${e.code}): not shown`)
  })
  client.on('typing', (e) => {
    if (e.conversationId !== conversationId || e.userId !== other.id) return
    if (Date.now() - typingShownAt < TYPING_EVERY_MS) return
    typingShownAt = Date.now()
    print(`… ${other.username} is typing`)
  })
  client.on('receipt', (e) => {
    if (e.conversationId !== conversationId || e.userId !== other.id || e.kind !== 'read') return
    if (e.seq >= lastSentSeq && lastSentSeq > readShownFor) {
      readShownFor = lastSentSeq
      print(`✓ read by ${other.username}`)
    }
  })
  client.on('keyChanged', (c) => {
    if (c.userId === other.id) print(`! ${other.username}'s account key changed: compare safety numbers with \`metadome verify ${other.username}\`, then \`metadome trust ${other.username}\``)
  })
  let wasConnected = false
  client.on('disconnected', () => { if (wasConnected) print('(connection lost, reconnecting…)') })
  client.on('connected', () => {
    if (wasConnected) print('(reconnected)')
    wasConnected = true
  })

  await client.connect()
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
    if (item.senderId === other.id) newestFromThem = Math.max(newestFromThem, item.message.seq)
  }
  if (newestFromThem > 0) client.receipt(conversationId, newestFromThem, 'read')
  live = true
  for (const run of early.splice(0)) run()
  print(`— chatting with ${other.username} (/quit or Ctrl-D to leave)`)
  rl.prompt()

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
    rl.on('line', (input) => {
      const text = input.trim()
      if (text === '/quit') {
        rl.close()
        return
      }
      if (tty) {
        // Replace the echoed input line with the formatted one once acked.
        moveCursor(process.stdout, 0, -1)
        clearLine(process.stdout, 0)
      }
      if (text === '') {
        rl.prompt()
        return
      }
      lastTyping = 0
      sending = sending.then(async () => {
        try {
          const ack = await client.sendText({ to: other.id }, text)
          lastSentSeq = ack.seq
          show(ack.sentAt, client.userId, text)
        } catch (err) {
          print(`! not sent: ${describe(err, { who: other.username })}`)
        }
      })
    })
    rl.on('SIGINT', () => { rl.close() })
    rl.on('close', () => { resolve() })
  })
  await sending
}
