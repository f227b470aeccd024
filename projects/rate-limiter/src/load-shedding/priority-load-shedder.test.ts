import { describe, expect, it } from 'vitest'
import { InvalidLoadShedderError, createPriorityLoadShedder } from './priority-load-shedder.ts'

describe('createPriorityLoadShedder', () => {
  it('when non-critical traffic fills its 80 %, sheds it but still admits critical traffic', () => {
    const shedder = createPriorityLoadShedder({ capacity: 10 })
    for (let i = 0; i < 8; i++) expect(shedder.tryAcquire('normal')).toBeTypeOf('function')

    const shedNormal = shedder.tryAcquire('normal')
    const critical = shedder.tryAcquire('critical')

    expect(shedNormal).toBeUndefined()
    expect(critical).toBeTypeOf('function')
    expect(shedder.inFlight).toBe(9)
  })

  it('when the whole capacity is in use, sheds critical traffic too', () => {
    const shedder = createPriorityLoadShedder({ capacity: 4, reservedShare: 0.5 })
    for (let i = 0; i < 4; i++) expect(shedder.tryAcquire('critical')).toBeDefined()

    expect(shedder.tryAcquire('critical')).toBeUndefined()
    expect(shedder.tryAcquire('normal')).toBeUndefined()
  })

  it('when a request is released, frees its slot once even if released twice', () => {
    const shedder = createPriorityLoadShedder({ capacity: 5, reservedShare: 0 })
    const release = shedder.tryAcquire('normal')
    shedder.tryAcquire('normal')

    release?.()
    release?.()

    expect(shedder.inFlight).toBe(1)
  })

  it('when reservedShare is 20 % of 10, gives normal traffic 8 slots', () => {
    expect(createPriorityLoadShedder({ capacity: 10 }).normalCapacity).toBe(8)
  })

  it('when the options are out of range, throws', () => {
    expect(() => createPriorityLoadShedder({ capacity: 0 })).toThrow(InvalidLoadShedderError)
    expect(() => createPriorityLoadShedder({ capacity: 5, reservedShare: 1 })).toThrow(
      InvalidLoadShedderError
    )
  })
})
