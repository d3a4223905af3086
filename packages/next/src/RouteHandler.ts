/**
 * A Next.js App Router route handler (`export const POST = …` in `app/…/route.ts`): a web
 * `Request` in, a web `Response` out.
 */
export type RouteHandler = (request: Request) => Promise<Response>
