# syntax=docker/dockerfile:1
# One image recipe for every project of the kit; docker-compose.yml passes PROJECT.
#   docker build --build-arg PROJECT=url-shortener -t kit/url-shortener .
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG PROJECT
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.21.0
WORKDIR /kit
COPY . .
# Only the project and the workspace packages it depends on.
RUN pnpm install --frozen-lockfile --filter "@kit/${PROJECT}..."
# kit-build bundles the @kit/* sources into dist/main.js; deploy copies the package's "files"
# (dist, migrations, scripts) with its production node_modules into /app.
RUN pnpm --filter "@kit/${PROJECT}" build \
 && pnpm --filter "@kit/${PROJECT}" deploy --prod /app

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--enable-source-maps", "dist/main.js"]
