import t from 'tap'
import { Compile } from 'typebox/compile'
import { ChatRpcErrorBody, ChatRpcErrorCode, CODE_OF_STATUS, ContractErrorCode, ERROR_STATUS, ErrorCode, ErrorFrame, isErrorCodeOf } from '../src/index.js'

// The error codes are written once (errors.ts); every other set is a subset of it.

const codes = (union: { anyOf: Array<{ const: string }> }): string[] => union.anyOf.map((literal) => literal.const)

t.test('the frame and RPC codes are subsets of the contract codes', async (t) => {
  t.same(codes(ContractErrorCode), Object.keys(ERROR_STATUS))
  t.same(codes(ErrorCode), codes(ContractErrorCode).filter((c) => c !== 'conflict'))
  t.same(codes(ChatRpcErrorCode), ['bad_request', 'forbidden', 'not_found', 'too_large', 'rate_limited', 'unavailable'])
  for (const code of codes(ChatRpcErrorCode)) t.ok(isErrorCodeOf(ErrorCode, code), `${code} can be an error frame's code`)
})

t.test('each status has one code and back', async (t) => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) t.equal(CODE_OF_STATUS[status], code)
  t.equal(CODE_OF_STATUS[418], undefined)
})

t.test('the schemas accept their codes only', async (t) => {
  t.ok(isErrorCodeOf(ChatRpcErrorCode, 'forbidden'))
  t.notOk(isErrorCodeOf(ChatRpcErrorCode, 'unauthorized'))
  t.notOk(isErrorCodeOf(ContractErrorCode, 'FORBIDDEN'), 'codes are lower case')
  t.notOk(isErrorCodeOf(ContractErrorCode, undefined))
  t.ok(Compile(ErrorFrame).Check({ type: 'error', code: 'rate_limited', message: 'slow down' }))
  t.notOk(Compile(ErrorFrame).Check({ type: 'error', code: 'conflict', message: 'x' }))
  t.ok(Compile(ChatRpcErrorBody).Check({ code: 'rate_limited', message: 'x' }), 'the writer says rate_limited for the hourly group limits')
  t.notOk(Compile(ChatRpcErrorBody).Check({ code: 'conflict', message: 'x' }))
})
