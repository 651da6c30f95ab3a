# Sourced by the benchmarks that put media on S3: starts Garage in the folder $1
# (scripts/garage.sh; sets GARAGE_PID) and points the server's media at it.
eval "$(scripts/garage.sh "$1")"
export PHOTOSHARE__MEDIA__S3__ENDPOINT=$PHOTOSHARE_TEST_S3_ENDPOINT
export PHOTOSHARE__MEDIA__S3__REGION=$PHOTOSHARE_TEST_S3_REGION
export PHOTOSHARE__MEDIA__S3__BUCKET=$PHOTOSHARE_TEST_S3_BUCKET
export PHOTOSHARE__MEDIA__S3__ACCESS_KEY_ID=$PHOTOSHARE_TEST_S3_ACCESS_KEY_ID
export PHOTOSHARE__MEDIA__S3__SECRET_ACCESS_KEY=$PHOTOSHARE_TEST_S3_SECRET_ACCESS_KEY
