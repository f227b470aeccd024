// A sandboxed processor for sandboxed-worker.test.ts: writes its pid to job.data.startedFile,
// spins the CPU for job.data.spinMs (deaf to any signal, like a library's CPU loop), then
// writes job.data.doneFile; answers its pid.
import { writeFileSync } from 'node:fs'

export default function spin(job) {
  const { startedFile, spinMs = 0, doneFile } = job.data
  if (startedFile) writeFileSync(startedFile, String(process.pid))
  const end = Date.now() + spinMs
  while (Date.now() < end) {
    // Deaf: nothing here can look at a signal or a timer.
  }
  if (doneFile) writeFileSync(doneFile, String(process.pid))
  return Promise.resolve(process.pid)
}
