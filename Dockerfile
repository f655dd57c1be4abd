# stork: build with `docker build -t stork .` from the repository root.
#
# Two stages: the build stage compiles TypeScript (`npm run build`: src/ → dist/, rootDir src), the
# runtime stage holds only production dependencies, the compiled JavaScript and proto/. The Portworx
# driver loads proto/openstorage/api.proto at run time, three directories above
# dist/drivers/portworx/proto.js, so proto/ must sit beside dist/ (both under /app).
#
# NODE_IMAGE: any Node.js 24 image with a `node` user of uid 1000 (the official images have one). The
# tests build this file with buildah on a base image of their own (docs/install.md).
#
# `npm ls` after each install: npm can end a failed install with "Exit handler never called!" and exit
# status 0, and an image without its dependencies must not build.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts && npm ls --all >/dev/null
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm ls --omit=dev --all >/dev/null && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
# The image's `node` user (uid 1000); numeric so that runAsNonRoot can verify it without /etc/passwd.
USER 1000:1000
# 8099: scheduler extender, /healthz, /readyz and /metrics.
EXPOSE 8099
ENTRYPOINT ["node", "/app/dist/daemon/main.js"]
