# docker-werf's CI image: a docker CLI image with docker-credential-werf and
# docker-werf installed where `sh install.sh -p /usr/local/lib/docker/cli-plugins`
# puts them as root: the helper on PATH, the plugin in the docker CLI's system
# plugin directory, where docker finds it whatever HOME and DOCKER_CONFIG a
# job has.
#
#   make image                                   # docker-werf:<version> on docker:28-cli
#   make image BASE_IMAGE=my/docker-cli IMAGE=registry.example.com/ci/docker-werf:1
#
# The binaries come from `make build` (bin/, the build context `make image`
# gives). BASE_IMAGE needs a shell, the docker CLI and, for cleanup jobs, git.
ARG BASE_IMAGE=docker:28-cli
FROM ${BASE_IMAGE}
COPY docker-credential-werf /usr/local/bin/docker-credential-werf
COPY docker-werf /usr/local/lib/docker/cli-plugins/docker-werf
RUN docker werf version
