FROM mcr.microsoft.com/dotnet/sdk:6.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish -c Release

FROM mcr.microsoft.com/dotnet/runtime:6.0
WORKDIR /src
COPY --from=build /src/bin/Release/net6.0/publish /src/bin/Release/net6.0/publish
CMD ["dotnet", "bin/Release/net6.0/publish/Ticker.dll"]
